"""TreeEnsemble's link check and depth against a plain Python walk, on random forests (shuffled
node order, chains deeper than the 64 levels of the one-walk check) and random broken links."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portamodel.errors import IRValidationError
from portamodel.ir import TreeEnsemble


def _reference(roots: list[int], feature: list[int], tc: list[int], fc: list[int]) -> int | None:
    """Depth of a valid forest (each node linked exactly once, from a root or a parent), else None."""
    n = len(feature)
    links = list(roots) + [c for i in range(n) if feature[i] >= 0 for c in (tc[i], fc[i])]
    if any(not 0 <= c < n for c in links) or sorted(links) != list(range(n)):
        return None
    depth, seen = 0, 0
    stack = [(r, 0) for r in roots]
    while stack:  # every node has one parent: the walk ends after n visits
        node, d = stack.pop()
        seen += 1
        if feature[node] >= 0:
            depth = max(depth, d + 1)
            stack += [(tc[node], d + 1), (fc[node], d + 1)]
    return depth if seen == n else None


@st.composite
def forests(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int]]:
    feature: list[int] = []
    tc: list[int] = []
    fc: list[int] = []
    roots = []

    def grow(depth: int, chain: int) -> int:
        i = len(feature)
        feature.append(-1)
        tc.append(-1)
        fc.append(-1)
        split = depth < chain or (len(feature) < 60 and draw(st.booleans()))
        if split:
            feature[i] = 0
            tc[i] = grow(depth + 1, 0)
            fc[i] = grow(depth + 1, chain)  # a chain goes on in the false child
        return i

    for _ in range(draw(st.integers(1, 3))):
        roots.append(grow(0, draw(st.sampled_from([0, 0, 3, 70]))))
    n = len(feature)
    perm = draw(st.permutations(range(n)))  # shuffled storage: children may come before parents
    new = {old: k for k, old in enumerate(perm)}
    f2, t2, c2 = [0] * n, [0] * n, [0] * n
    for old in range(n):
        k = new[old]
        f2[k] = feature[old]
        t2[k] = new[tc[old]] if feature[old] >= 0 else -1
        c2[k] = new[fc[old]] if feature[old] >= 0 else -1
    return [new[r] for r in roots], f2, t2, c2


def _build(roots: list[int], feature: list[int], tc: list[int], fc: list[int]) -> TreeEnsemble:
    n = len(feature)
    return TreeEnsemble(
        features=("x",), roots=roots, feature=feature, threshold=[0.5] * n, op=[0] * n,
        true_child=tc, false_child=fc, missing=[0] * n, values=[[0.0]] * n,
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(forest=forests())
def test_valid_forests_pass_with_their_depth(forest):
    roots, feature, tc, fc = forest
    t = _build(roots, feature, tc, fc)
    assert t.max_depth == _reference(roots, feature, tc, fc) == t._max_depth()


@settings(max_examples=300, deadline=None)
@given(forest=forests(), data=st.data())
def test_broken_links_are_refused(forest, data):
    roots, feature, tc, fc = forest
    n = len(feature)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(["root", "true", "false"]))
        value = data.draw(st.integers(-2, n + 1))
        if target == "root":
            roots[data.draw(st.integers(0, len(roots) - 1))] = value
        else:
            inner = [i for i in range(n) if feature[i] >= 0]
            if inner:
                (tc if target == "true" else fc)[data.draw(st.sampled_from(inner))] = value
    depth = _reference(roots, feature, tc, fc)
    if depth is None:
        with pytest.raises(IRValidationError):
            _build(roots, feature, tc, fc)
    else:  # the change happened to keep a forest (e.g. swapped back)
        assert _build(roots, feature, tc, fc).max_depth == depth


def test_a_chain_a_thousand_levels_deep_is_checked_and_measured():
    n = 2001  # node 2k splits into leaf 2k+1 and node 2k+2
    feature = np.full(n, -1)
    feature[0 : n - 1 : 2] = 0
    tc = np.where(feature >= 0, np.arange(n) + 1, -1)
    fc = np.where(feature >= 0, np.arange(n) + 2, -1)
    assert _build([0], feature.tolist(), tc.tolist(), fc.tolist()).max_depth == 1000
    fc[-3] = 0  # the last split points back to the root: a cycle
    with pytest.raises(IRValidationError, match="more than one parent"):
        _build([0], feature.tolist(), tc.tolist(), fc.tolist())
