"""IR validation: every broken invariant raises IRValidationError naming where; arrays are read-only;
equality is structural and bit-exact."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from portamodel.errors import IRValidationError
from portamodel.ir import (
    MLP,
    Affine,
    Apply,
    Constant,
    DenseLayer,
    Derive,
    Field,
    FieldRef,
    Impute,
    LinearModel,
    Lookup,
    Metadata,
    Model,
    OneHot,
    Target,
    TreeEnsemble,
)
from portamodel.ir._base import frozen_array

REG = Target(name="y", task="regression")


def stump(**changes) -> dict:
    base = dict(
        features=("x",),
        roots=[0],
        feature=[0, -1, -1],
        threshold=[0.5, 0.0, 0.0],
        op=[0, 0, 0],
        true_child=[1, -1, -1],
        false_child=[2, -1, -1],
        missing=[0, 0, 0],
        values=[[0.0], [1.0], [2.0]],
    )
    base.update(changes)
    return base


def linear_model(**changes) -> Model:
    kw = dict(
        inputs=(Field(name="a"), Field(name="b")),
        target=REG,
        estimator=LinearModel(features=("a", "b"), coefficients=[[1.0, 2.0]], intercepts=[0.5]),
    )
    kw.update(changes)
    return Model(**kw)


def raises(match: str, location: str | None = None):
    """pytest.raises for IRValidationError whose location contains ``location``."""
    ctx = pytest.raises(IRValidationError, match=match)

    class _Check:
        def __enter__(self):
            self.info = ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = ctx.__exit__(*exc)
            if handled and location is not None:
                assert location in (self.info.value.location or ""), self.info.value.location
            return handled

    return _Check()


# == trees ======================================================================================


def test_valid_stump():
    t = TreeEnsemble(**stump())
    assert (t.n_trees, t.n_nodes, t.n_outputs, t.max_depth) == (1, 3, 1, 1)
    assert t.tree_of_node().tolist() == [0, 0, 0]


def test_cycle_is_refused():
    # node 2 points back to the root: root then has two parents (the list and node 2)
    with raises("more than one parent", "node 0"):
        TreeEnsemble(**stump(feature=[0, -1, 0], true_child=[1, -1, 0], false_child=[2, -1, 1], threshold=[0.5, 0, 0.5]))


def test_detached_cycle_is_refused():
    # nodes 3 <-> 4 form a cycle not reachable from the root
    kw = stump(
        feature=[0, -1, -1, 0, 0],
        threshold=[0.5, 0, 0, 1.0, 1.0],
        op=[0] * 5,
        true_child=[1, -1, -1, 4, 3],
        false_child=[2, -1, -1, 4, 3],
        missing=[0] * 5,
        values=[[0.0]] * 5,
    )
    with pytest.raises(IRValidationError) as exc:
        TreeEnsemble(**kw)
    assert "node 3" in str(exc.value) or "node 4" in str(exc.value)


def test_two_parents_is_refused():
    kw = stump(
        feature=[0, 0, -1, -1],
        threshold=[0.5, 0.2, 0, 0],
        op=[0] * 4,
        true_child=[1, 2, -1, -1],
        false_child=[2, 3, -1, -1],
        missing=[0] * 4,
        values=[[0.0]] * 4,
    )
    with raises("more than one parent", "node 2"):
        TreeEnsemble(**kw)


def test_self_loop_is_refused():
    with raises("more than one parent"):
        TreeEnsemble(**stump(true_child=[0, -1, -1]))


@pytest.mark.parametrize(
    ("changes", "match", "where"),
    [
        ({"true_child": [5, -1, -1]}, "child index out of range", "TreeEnsemble.true_child[0]"),
        ({"false_child": [-1, -1, -1]}, "child index out of range", "TreeEnsemble.false_child[0]"),
        ({"feature": [3, -1, -1]}, "feature index out of range", "TreeEnsemble.feature[0]"),
        ({"feature": [-2, -1, -1]}, "below -1", "TreeEnsemble.feature[0]"),
        ({"roots": [7]}, "root index out of range", "TreeEnsemble.roots"),
        ({"op": [9, 0, 0]}, "unknown operator", "TreeEnsemble.op[0]"),
        ({"missing": [4, 0, 0]}, "unknown missing-value code", "TreeEnsemble.missing[0]"),
        ({"threshold": [np.nan, 0, 0]}, "not finite", "TreeEnsemble.threshold[0]"),
        ({"threshold": [0.5, 0]}, "2 entries but there are 3 nodes", "TreeEnsemble.threshold"),
        ({"values": [[0.0], [1.0]]}, "2 rows but there are 3 nodes", "TreeEnsemble.values"),
        ({"base_score": [0.0, 1.0]}, "expected 1 values", "TreeEnsemble.base_score"),
        ({"tree_weights": [1.0, 2.0]}, "expected 1 weights", "TreeEnsemble.tree_weights"),
        ({"tree_weights": [np.inf]}, "finite", "TreeEnsemble.tree_weights"),
        ({"roots": []}, "at least one tree", "TreeEnsemble.roots"),
        ({"op": [6, 0, 0]}, "set index", "TreeEnsemble.threshold[0]"),
        ({"set_offsets": [0, 1]}, "given together", "TreeEnsemble"),
        ({"set_offsets": [1, 1], "set_values": [1.0]}, "start with 0", "TreeEnsemble.set_offsets"),
        ({"set_offsets": [0, 2], "set_values": [1.0]}, "ends at 2", "TreeEnsemble.set_offsets"),
        ({"feature": [0.5, -1, -1]}, "expected an integer", "TreeEnsemble.feature[0]"),
        ({"aggregation": "mode"}, "expected one of", "TreeEnsemble.aggregation"),
        ({"post_transform": "relu"}, "expected one of", "TreeEnsemble.post_transform"),
        ({"input_dtype": "float16"}, "expected one of", "TreeEnsemble.input_dtype"),
        ({"features": ("x", "x")}, "duplicate name", "TreeEnsemble.features[1]"),
        ({"values": [[[0.0]]] * 3}, "shape", "TreeEnsemble.values"),
    ],
)
def test_tree_validation_errors(changes, match, where):
    with raises(match, where):
        TreeEnsemble(**stump(**changes))


def test_set_split_validates():
    t = TreeEnsemble(**stump(op=[6, 0, 0], threshold=[0.0, 0, 0], set_offsets=[0, 2], set_values=[1.0, 3.0]))
    assert t.set_values.tolist() == [1.0, 3.0]
    with raises("set index"):
        TreeEnsemble(**stump(op=[6, 0, 0], threshold=[1.0, 0, 0], set_offsets=[0, 2], set_values=[1.0, 3.0]))


def test_forest_depth_and_owner():
    kw = stump(
        roots=[0, 3],
        feature=[0, -1, -1, -1],
        threshold=[0.5, 0, 0, 0],
        op=[0] * 4,
        true_child=[1, -1, -1, -1],
        false_child=[2, -1, -1, -1],
        missing=[0] * 4,
        values=[[0.0]] * 4,
    )
    t = TreeEnsemble(**kw)
    assert t.tree_of_node().tolist() == [0, 0, 0, 1] and t.max_depth == 1


# == other estimators and steps ===================================================================


@pytest.mark.parametrize(
    ("build", "match", "where"),
    [
        (lambda: LinearModel(features=("a",), coefficients=[[1.0, 2.0]], intercepts=[0.0]), "does not match 1 features", "coefficients"),
        (lambda: LinearModel(features=("a",), coefficients=[[1.0]], intercepts=[0.0, 1.0]), "expected 1 intercepts", "intercepts"),
        (lambda: LinearModel(features=("a",), coefficients=[1.0], intercepts=[0.0]), "2-D", "coefficients"),
        (lambda: LinearModel(features=("a",), coefficients=[["x"]], intercepts=[0.0]), "float64", "coefficients"),
        (
            lambda: LinearModel(features=("a",), coefficients=[[1.0]], intercepts=[0.0], normalization="tanh"),
            "expected one of",
            "normalization",
        ),
        (lambda: LinearModel(features=("a", "a"), coefficients=[[1.0, 1.0]], intercepts=[0.0]), "duplicate", "features[1]"),
        (lambda: DenseLayer(weights=[[1.0]], biases=[0.0, 1.0]), "expected 1 biases", "DenseLayer.biases"),
        (lambda: DenseLayer(weights=[[1.0]], biases=[0.0], activation="swish"), "expected one of", "activation"),
        (lambda: DenseLayer(weights=[[1.0]], biases=[0.0], alpha=float("nan")), "finite", "alpha"),
        (
            lambda: MLP(features=("a", "b"), layers=(DenseLayer(weights=[[1.0]], biases=[0.0]),)),
            "takes 1 inputs but receives 2",
            "MLP.layers[0]",
        ),
        (lambda: MLP(features=("a",), layers=()), "at least one layer", "MLP.layers"),
        (lambda: Affine(inputs=("a",), outputs=("b", "c"), offset=[0.0], scale=[1.0]), "1 inputs but 2 outputs", "Affine"),
        (lambda: Affine(inputs=("a",), outputs=("b",), offset=[0.0, 1.0], scale=[1.0]), "expected 1 values", "Affine.offset"),
        (lambda: Impute(inputs=("a",), outputs=("b",), values=(float("nan"),)), "non-missing", "Impute.values[0]"),
        (lambda: OneHot(input="s", categories=("a", "a"), outputs=("x", "y")), "distinct", "categories"),
        (lambda: OneHot(input="s", categories=("a",), outputs=("x",), unknown="keep"), "expected one of", "unknown"),
        (lambda: Lookup(input="s", output="o", keys=("a",), values=(1.0, 2.0)), "1 keys but 2 values", "Lookup"),
        (lambda: Lookup(input="s", output="o", keys=("a", "b"), values=(1.0, "x")), "all strings or all numbers", "values"),
        (lambda: Apply(function="nope", args=()), "unknown function", "Apply('nope')"),
        (lambda: Apply(function="+", args=(Constant(value=1),)), "takes 2..2 arguments", "Apply('+')"),
        (lambda: Derive(output="d", expression=Constant(value=1), dtype="float"), "expected one of", "dtype"),
        (lambda: Field(name="s", dtype="string"), "continuous field must be numeric", "field 's'"),
        (lambda: Field(name="f", values=(1, 1), optype="categorical"), "distinct", "values"),
        (lambda: Field(name="f", dtype="integer", optype="categorical", values=(1.5,)), "integer", "values[0]"),
        (lambda: Target(name="y", task="classification", classes=("a",)), "at least 2 classes", "classes"),
        (lambda: Target(name="y", task="classification", classes=("a", "a")), "distinct", "classes"),
        (lambda: Target(name="y", task="regression", classes=("a", "b")), "no classes", "classes"),
        (lambda: Metadata(extra={"k": 1}), "strings", "Metadata.extra"),
    ],
)
def test_component_validation_errors(build, match, where):
    with raises(match, where):
        build()


@pytest.mark.parametrize(
    ("changes", "match", "where"),
    [
        ({"inputs": (Field(name="a"), Field(name="a"))}, "duplicate field name", "Model.inputs[1]"),
        ({"inputs": ()}, "at least one input", "Model.inputs"),
        ({"inputs": (Field(name="a"),)}, "feature 'b' is not defined", "Model.estimator"),
        ({"steps": (Impute(inputs=("zz",), outputs=("q",), values=(0.0,)),)}, "reads column 'zz'", "Model.steps[0]"),
        ({"steps": (Impute(inputs=("a",), outputs=("b",), values=(0.0,)),)}, "already defined", "Model.steps[0]"),
        ({"target": Target(name="y", task="classification", classes=("p", "q", "r"))}, "1 outputs do not fit 3 classes", "Model.estimator"),
    ],
)
def test_model_validation_errors(changes, match, where):
    with raises(match, where):
        linear_model(**changes)


def test_string_feature_must_be_encoded():
    with raises("not numeric; encode it first", "Model.estimator"):
        Model(
            inputs=(Field(name="a", dtype="string", optype="categorical"),),
            target=REG,
            estimator=LinearModel(features=("a",), coefficients=[[1.0]], intercepts=[0.0]),
        )


def test_single_binary_output_refuses_softmax_and_majority_needs_classes():
    t2 = Target(name="y", task="classification", classes=("p", "q"))
    with raises("needs one output per class", "Model.estimator"):
        Model(
            inputs=(Field(name="a"),),
            target=t2,
            estimator=LinearModel(features=("a",), coefficients=[[1.0]], intercepts=[0.0], normalization="softmax"),
        )
    with raises("majority_vote needs a classifier", "Model.estimator"):
        Model(inputs=(Field(name="x"),), target=REG, estimator=TreeEnsemble(**stump(aggregation="majority_vote")))


# == immutability and equality ======================================================================


def test_affine_refuses_string_columns():
    """Found by fuzzing the JSON reader: an Impute with a string value makes its output a string
    column; an Affine reading it must be refused when the model is built, not at the first predict."""
    with raises("reads string column 'b' but needs numbers", "Model.steps[1]"):
        Model(
            inputs=(Field(name="a"),),
            target=REG,
            steps=(Impute(inputs=("a",), outputs=("b",), values=("x",)), Affine(inputs=("b",), outputs=("c",), offset=[0.0], scale=[1.0])),
            estimator=LinearModel(features=("c",), coefficients=[[1.0]], intercepts=[0.0]),
        )


def test_arrays_are_read_only_copies():
    coef = np.array([[1.0, 2.0]])
    lm = LinearModel(features=("a", "b"), coefficients=coef, intercepts=[0.5])
    coef[0, 0] = 99.0
    assert lm.coefficients[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        lm.coefficients[0, 0] = 5.0
    t = TreeEnsemble(**stump())
    for name in ("roots", "feature", "threshold", "op", "true_child", "false_child", "missing", "values", "base_score"):
        assert not getattr(t, name).flags.writeable, name
    assert t.feature.dtype == np.int32 and t.op.dtype == np.uint8 and t.roots.dtype == np.int64
    # an array over immutable bytes (decoded file data) is taken as it is; anything else is copied
    data = np.arange(3, dtype=np.int32).tobytes()
    over_bytes = np.frombuffer(data, dtype=np.int32)
    assert frozen_array(over_bytes, np.int32, "x") is over_bytes
    frozen = np.arange(3, dtype=np.int32)
    frozen.setflags(write=False)
    assert frozen_array(frozen, np.int32, "x") is not frozen  # its owner could make it writeable again
    assert frozen_array(np.frombuffer(bytearray(data), dtype=np.int32), np.int32, "x").base is None


def test_dataclasses_are_frozen_and_unhashable():
    m = linear_model()
    with pytest.raises(AttributeError):
        m.target = REG  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(m)


def test_structural_equality_is_bit_exact():
    a, b = linear_model(), linear_model()
    assert a == b and a is not b
    assert a != linear_model(estimator=LinearModel(features=("a", "b"), coefficients=[[1.0, 2.0 + 1e-16 * 4]], intercepts=[0.5]))
    assert TreeEnsemble(**stump(threshold=[0.0, 0, 0], op=[6, 0, 0], set_offsets=[0, 1], set_values=[1.0])) != TreeEnsemble(**stump())
    # NaN equals NaN bit for bit; -0.0 differs from 0.0
    n1 = Impute(inputs=("a",), outputs=("b",), values=(0.0,))
    n2 = Impute(inputs=("a",), outputs=("b",), values=(-0.0,))
    assert n1 != n2
    assert DenseLayer(weights=[[np.nan]], biases=[0.0]) == DenseLayer(weights=[[np.nan]], biases=[0.0])
    # equality ignores the evaluation cache
    a.predict([[1.0, 1.0]])
    assert a == b and "plan" in a._cache and "plan" not in b._cache


def test_replace_revalidates_and_copies_survive():
    m = linear_model()
    assert m.replace(metadata=Metadata(name="n")).metadata.name == "n"
    with raises("at least one input"):
        m.replace(inputs=())
    m = m.replace(metadata=Metadata(name="n", extra={"k": "v"}))
    m.predict([[1.0, 2.0]])  # the cached plan (closures) is not pickled
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert clone == m and clone.metadata.extra == {"k": "v"} and "plan" not in clone._cache
        assert clone.predict([[1.0, 2.0]]).tolist() == [5.5]
    t = TreeEnsemble(**stump())
    assert pickle.loads(pickle.dumps(t)) == t


def test_expression_refs_define_derive_inputs():
    d = Derive(output="d", expression=Apply(function="+", args=(FieldRef(name="a"), Apply(function="abs", args=(FieldRef(name="a"),)))))
    assert d.inputs == ("a",)
    with raises("reads column 'zz'", "Model.steps[0]"):
        linear_model(steps=(Derive(output="d", expression=FieldRef(name="zz")),))
