"""Ordering (fieldops.core.ordering): the priority topological order on random graphs.

``topological_order`` returns the preferred order as it is when that order already puts every
step after its dependencies, and otherwise runs Kahn's algorithm with the key as priority. Both
paths must give exactly what the textbook algorithm gives (checked against a plain reference).
"""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops.core.ordering import topological_order
from fieldops.core.problems import DesignError


def reference_order(preds, key):
    """Kahn's algorithm, the smallest (key, position) among ready steps first."""
    n = len(preds)
    indeg = [len(set(row)) for row in preds]
    succ = [[] for _ in range(n)]
    for i, row in enumerate(preds):
        for j in set(row):
            succ[j].append(i)
    heap = [(key(i), i) for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, i = heapq.heappop(heap)
        out.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(heap, (key(j), j))
    return out


@st.composite
def dags(draw):
    """(preds, keys): a random DAG on up to 30 nodes (edges only from a hidden order's earlier
    nodes, so no cycle; duplicate edges allowed) and random keys with ties."""
    n = draw(st.integers(1, 30))
    hidden = draw(st.permutations(range(n)))
    preds = [[] for _ in range(n)]
    for a in range(n):
        for b in range(a):
            if draw(st.integers(0, 3)) == 0:
                preds[hidden[a]].append(hidden[b])
                if draw(st.booleans()) and draw(st.booleans()):
                    preds[hidden[a]].append(hidden[b])  # a repeated dependency
    keys = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return preds, keys


@settings(max_examples=80, deadline=None)
@given(dags())
def test_topological_order_is_kahns_order_with_the_key_as_priority(case):
    preds, keys = case
    key = keys.__getitem__
    got = topological_order(preds, key=key)
    assert got == reference_order(preds, key)
    assert topological_order(preds) == reference_order(preds, lambda i: i)
    where = {i: k for k, i in enumerate(got)}
    assert all(where[j] < where[i] for i, row in enumerate(preds) for j in row)


def test_an_already_topological_preference_is_kept_and_a_violating_one_is_repaired():
    #  0 --> 1      2 --> 3
    preds = [[], [0], [], [2]]
    assert topological_order(preds, key=[0, 1, 2, 3].__getitem__) == [0, 1, 2, 3]
    # step 1 is preferred first but needs 0; 3 preferred before 2 but needs 2
    assert topological_order(preds, key=[1, 0, 3, 2].__getitem__) == [0, 1, 2, 3]
    assert topological_order(preds, key=[2, 3, 0, 1].__getitem__) == [2, 3, 0, 1]


@pytest.mark.parametrize("preds", [[[0]], [[1], [0]], [[], [2], [1]]])
def test_a_cycle_is_an_error_on_either_path(preds):
    with pytest.raises(DesignError, match="dependency cycle"):
        topological_order(preds)
    with pytest.raises(DesignError, match="dependency cycle"):
        topological_order(preds, key=lambda i: -i)
