"""Capacitated assignment of avatar children to avatar parents, and the fan-out capacities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avatars.engine.multitable.assignment import (
    apportion,
    capacities,
    greedy_assignment,
    linear_sum_assignment,
    microaggregated_counts,
)


def instance(
    n_parents: int, mean: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    capacity = np.minimum(rng.negative_binomial(2, 2 / (mean + 2), n_parents), 100)
    parents = rng.standard_normal((n_parents, 4))
    owner = np.repeat(np.arange(n_parents), capacity)
    children = parents[owner] + 0.7 * rng.standard_normal((len(owner), 4))
    return children, parents, capacity, owner


def total(children: np.ndarray, parents: np.ndarray, assigned: np.ndarray) -> float:
    return float(np.linalg.norm(children - parents[assigned], axis=1).sum())


def test_dense_assignment_is_the_exact_optimum() -> None:
    rng = np.random.default_rng(3)
    children, parents = rng.standard_normal((6, 2)), rng.standard_normal((3, 2))
    capacity = np.array([3, 0, 3])
    assigned, solver = linear_sum_assignment(children, parents, capacity)
    slots = np.repeat(np.arange(3), capacity)
    best = min(
        total(children, parents, slots[list(order)]) for order in itertools.permutations(range(6))
    )
    assert solver == "dense"
    assert total(children, parents, assigned) == pytest.approx(best)
    assert np.bincount(assigned, minlength=3).tolist() == [3, 0, 3]


def test_blockwise_assignment_fills_every_parent_exactly_and_beats_greedy() -> None:
    children, parents, capacity, _ = instance(300, 8, seed=1)
    greedy = greedy_assignment(children, parents, capacity)
    blocks, solver = linear_sum_assignment(
        children, parents, capacity, dense_max=200, block_max=300, refine_passes=3
    )
    exact, _ = linear_sum_assignment(children, parents, capacity, dense_max=10_000)
    assert solver == "blockwise"
    for assigned in (greedy, blocks, exact):
        assert np.array_equal(np.bincount(assigned, minlength=len(parents)), capacity)
    assert total(children, parents, exact) <= total(children, parents, blocks)
    assert total(children, parents, blocks) < total(children, parents, greedy)
    # close to the optimum (measured: within 2 %)
    assert total(children, parents, blocks) <= 1.03 * total(children, parents, exact)


def test_assignment_is_deterministic() -> None:
    children, parents, capacity, _ = instance(200, 6, seed=2)
    first, _ = linear_sum_assignment(children, parents, capacity, dense_max=100, block_max=200)
    second, _ = linear_sum_assignment(children, parents, capacity, dense_max=100, block_max=200)
    assert np.array_equal(first, second)
    assert np.array_equal(
        greedy_assignment(children, parents, capacity),
        greedy_assignment(children, parents, capacity),
    )


def test_capacities_must_add_up_to_the_children() -> None:
    children, parents, capacity, _ = instance(20, 3, seed=0)
    with pytest.raises(ValueError, match="add up to"):
        greedy_assignment(children, parents, capacity + 1)


def test_apportion_keeps_the_total_and_the_proportions() -> None:
    order = np.arange(4)
    assert apportion(np.array([1.0, 1.0, 2.0, 0.0]), 8, order).tolist() == [2, 2, 4, 0]
    shares = apportion(np.array([0.4, 0.4, 0.2]), 3, np.array([2, 0, 1]))
    assert shares.sum() == 3 and shares.max() == 1
    assert apportion(np.zeros(3), 6, np.arange(3)).tolist() == [2, 2, 2]


def test_microaggregation_averages_groups_of_sorted_counts() -> None:
    counts = np.array([0, 9, 1, 100, 2, 3, 4])
    values = microaggregated_counts(counts, 3)
    # sorted: 0 1 2 | 3 4 9 100 (the short remainder joins the last group)
    assert values.tolist() == pytest.approx([1, 1, 1, 29, 29, 29, 29])
    assert values.sum() == counts.sum()
    assert 100 not in values  # a unique extreme fan-out is never released as it is


def test_capacities_follow_the_avatar_ranking_and_the_original_distribution() -> None:
    rng = np.random.default_rng(0)
    original = rng.negative_binomial(1.5, 0.15, 1000)
    scores = rng.random(1000)
    capacity = capacities(scores, original, 5, rng.permutation(1000))
    assert capacity.sum() == original.sum()
    assert np.all(np.diff(capacity[np.argsort(scores)]) >= 0)  # larger score, larger family
    quantiles = np.quantile(original, [0.1, 0.5, 0.9])
    assert np.abs(np.quantile(capacity, [0.1, 0.5, 0.9]) - quantiles).max() <= 2
