"""Importers that build a :class:`~portamodel.ir.Model` from a live, fitted producer object.

The public entry point for scikit-learn is :func:`portamodel.sklearn.from_sklearn`; the modules
here hold its parts (column bookkeeping, transformers, linear/MLP and tree estimators). They import
scikit-learn only when called.
"""
