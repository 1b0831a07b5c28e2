"""FAMD / PCA / MCA and the neighbour primitives, against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.neighbors import (
    build_tree,
    count_within,
    nearest_lowest_index,
    nearest_other_neighbors,
    tie_tolerance,
)
from avatars.engine.preprocessing import TableEncoder
from avatars.engine.projection import Projection


def fit(df: pd.DataFrame, types=None, weights=None):
    encoder = TableEncoder.fit(df, types)
    encoded = encoder.encode(df)
    encoded, _ = impute(
        encoded, ImputationParameters(), np.random.default_rng(0), encoder.n_modalities()
    )
    return encoded, Projection.fit(encoded, encoder.n_modalities(), weights)


def test_famd_explained_variance_matches_factominer_on_wbcd(wbcd):
    """method.md §1.6: FactoMineR's FAMD of WBCD prints Dim. 1 67.31 %, Dim. 2 7.93 %."""
    _, projection = fit(wbcd, {"Class": "category"})
    assert projection.kind == "famd"
    ratios = np.round(projection.explained_variance_ratio[:3] * 100, 2)
    assert list(ratios) == [67.31, 7.93, 5.46]


def test_pca_equals_standardized_svd(iris):
    numeric = iris.drop(columns="variety")
    encoded, projection = fit(numeric)
    assert projection.kind == "pca"
    z = (numeric - numeric.mean()) / numeric.std(ddof=0)
    _, s, vt = np.linalg.svd(z.to_numpy(), full_matrices=False)
    expected = z.to_numpy() @ vt.T
    ours = projection.transform(encoded)
    # same axes up to their sign
    assert np.allclose(np.abs(ours), np.abs(expected), atol=1e-9)
    assert np.allclose(projection.eigenvalues, s**2 / len(numeric))


def test_mca_is_famd_scaled_by_the_number_of_variables(wbcd):
    types = {c: "category" for c in wbcd.columns}
    encoded, mca = fit(wbcd, types)
    assert mca.kind == "mca"
    coordinates = mca.transform(encoded, 5)
    # FAMD of the same dummies, computed directly: (δ − p)/√p, then divided by √Q
    blocks = []
    for column in wbcd.columns:
        dummies = pd.get_dummies(wbcd[column].astype(str)).to_numpy(float)
        p = dummies.mean(axis=0)
        blocks.append((dummies - p) / np.sqrt(p))
    z = np.hstack(blocks)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    expected = z @ vt[:5].T / np.sqrt(wbcd.shape[1])
    assert np.allclose(np.abs(coordinates), np.abs(expected), atol=1e-8)


def test_column_weight_two_equals_the_column_twice(iris):
    numeric = iris.drop(columns="variety")
    encoded, weighted = fit(numeric, weights={"petal.width": 2.0})
    doubled_table = numeric.assign(copy=numeric["petal.width"])
    doubled_encoded, doubled = fit(doubled_table)
    assert np.allclose(weighted.eigenvalues, doubled.eigenvalues[: weighted.rank])
    a = weighted.transform(encoded)
    b = doubled.transform(doubled_encoded)[:, : weighted.rank]
    assert np.allclose(cdist(a, a), cdist(b, b), atol=1e-9)


def test_signs_are_fixed_and_coordinates_reproducible(aids, aids_types):
    first = fit(aids, aids_types)[1]
    second = fit(aids.sample(frac=1.0, random_state=3).reset_index(drop=True), aids_types)[1]
    assert np.allclose(first.axes[:, :5], second.axes[:, :5], atol=1e-8)


def test_unseen_modalities_project_as_no_modality(iris):
    _, projection = fit(iris)
    other = iris.head(3).assign(variety=["Setosa", "Unknown", None])
    encoder = TableEncoder.fit(iris)
    coords = projection.transform(encoder.encode(other))
    assert np.isfinite(coords).all()


def test_nearest_other_neighbors_matches_brute_force():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(500, 3))
    distances, indices = nearest_other_neighbors(points, 7)
    full = cdist(points, points)
    np.fill_diagonal(full, np.inf)
    expected = np.sort(full, axis=1)[:, :7]
    assert np.allclose(distances, expected)
    assert not (indices == np.arange(500)[:, None]).any()


def test_nearest_other_neighbors_with_many_duplicates_never_returns_self():
    points = np.repeat(np.arange(5.0), 40)[:, None]  # 5 values, 40 copies each
    distances, indices = nearest_other_neighbors(points, 10)
    assert not (indices == np.arange(200)[:, None]).any()
    assert (distances == 0).all()


def test_lowest_index_tie_rule_and_counts():
    avatars = np.array([[0.0], [1.0], [1.0], [3.0]])
    originals = np.array([[1.0], [1.0], [2.9], [10.0]])
    tree = build_tree(avatars)
    atol = tie_tolerance(originals, avatars)
    nearest, distance = nearest_lowest_index(tree, originals, atol=atol, probe=2)
    assert list(nearest) == [1, 1, 3, 3]
    assert np.allclose(distance, [0, 0, 0.1, 7])
    counts = count_within(tree, originals, np.array([0.0, 1.0, 0.1, 0.5]), atol=atol)
    assert list(counts) == [2, 3, 1, 0]


@pytest.mark.parametrize("probe", [1, 2, 8])
def test_lowest_index_rule_beyond_the_probe(probe):
    avatars = np.zeros((30, 2))
    tree = build_tree(avatars)
    nearest, _ = nearest_lowest_index(tree, np.zeros((4, 2)), atol=1e-12, probe=probe)
    assert (nearest == 0).all()
