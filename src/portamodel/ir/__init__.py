"""The in-memory model description (IR): frozen, validated dataclasses holding numpy arrays.

The IR is data; scoring lives in :mod:`portamodel.evaluate` and file formats in
:mod:`portamodel.formats`.
"""

from .fields import DATA_TYPES, OPTYPES, Field, Target, Value
from .linear import NORMALIZATIONS, LinearModel
from .mlp import ACTIVATIONS, MLP, DenseLayer
from .model import Estimator, Metadata, Model
from .transforms import (
    FUNCTIONS,
    Affine,
    Apply,
    Constant,
    Derive,
    Expression,
    FieldRef,
    Impute,
    Lookup,
    OneHot,
    Step,
    step_inputs,
    step_outputs,
)
from .tree import (
    AGGREGATIONS,
    MISSING_ACTIONS,
    MISSING_FALSE,
    MISSING_NULL,
    MISSING_STOP,
    MISSING_TRUE,
    OP_CODE,
    OPS,
    TreeEnsemble,
)

__all__ = [
    "ACTIVATIONS",
    "AGGREGATIONS",
    "DATA_TYPES",
    "FUNCTIONS",
    "MISSING_ACTIONS",
    "MISSING_FALSE",
    "MISSING_NULL",
    "MISSING_STOP",
    "MISSING_TRUE",
    "MLP",
    "NORMALIZATIONS",
    "OPS",
    "OPTYPES",
    "OP_CODE",
    "Affine",
    "Apply",
    "Constant",
    "DenseLayer",
    "Derive",
    "Estimator",
    "Expression",
    "Field",
    "FieldRef",
    "Impute",
    "LinearModel",
    "Lookup",
    "Metadata",
    "Model",
    "OneHot",
    "Step",
    "Target",
    "TreeEnsemble",
    "Value",
    "step_inputs",
    "step_outputs",
]
