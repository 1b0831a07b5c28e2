"""Alignment on a common grid and back, and the functional PCA (formulas of
``timeseries/alignment.py`` and ``timeseries/projection.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatars.engine.timeseries import SeriesTable, align, grid_length, read_series, unalign
from avatars.engine.timeseries.projection import CurveProjection, trapezoid_weights
from avatars.protocol.enums import AlignmentMethod, ProjectionType, UnalignmentMethod


def _table(times: list[list[float]], values: list[list[float]]) -> pd.DataFrame:
    rows = [
        {"pid": i, "t": t, "x": x}
        for i, (ts, xs) in enumerate(zip(times, values, strict=True))
        for t, x in zip(ts, xs, strict=True)
    ]
    return pd.DataFrame(rows)


def _read(df: pd.DataFrame, n: int):
    return read_series(SeriesTable("s", df, "pid", "t"), pd.Index(range(n)))


def test_grid_length_methods() -> None:
    lengths = np.array([10, 0, 31, 20])  # 0: an individual without series
    assert grid_length(lengths, AlignmentMethod.MAX, None) == (31, False)
    assert grid_length(lengths, AlignmentMethod.MIN, None) == (10, False)
    assert grid_length(lengths, AlignmentMethod.MEAN, None) == (20, False)
    assert grid_length(lengths, AlignmentMethod.SPECIFIED, 7) == (7, False)
    assert grid_length(np.array([5, 50_000]), AlignmentMethod.MAX, None) == (1_000, True)


def test_alignment_interpolates_in_normalized_time_and_keeps_the_time_frame() -> None:
    # individual 0: x = 2t on [10, 14] (5 points); individual 1: irregular times on [0, 3]
    df = _table([[10, 11, 12, 13, 14], [0.0, 0.5, 3.0]], [[20, 22, 24, 26, 28], [1, 2, 7]])
    aligned = align(_read(df, 2), 3)
    assert aligned.grid.tolist() == [0.0, 0.5, 1.0]
    assert aligned.curves[0, 0].tolist() == [20, 24, 28]
    assert aligned.curves[1, 0].tolist() == pytest.approx([1, 2 + 5 * (1.5 - 0.5) / 2.5, 7])
    assert aligned.n_points.tolist() == [5, 3]
    assert aligned.start.tolist() == [10, 0]
    assert aligned.duration.tolist() == [4.0, 3.0]


def test_missing_values_are_skipped_and_the_ends_held() -> None:
    df = _table([[0, 1, 2, 3, 4], [0, 1, 2, 3]], [[np.nan, 1, np.nan, 3, np.nan], [np.nan] * 4])
    aligned = align(_read(df, 3), 5)
    # observed at u = 0.25 (1) and 0.75 (3): held before and after, linear between
    assert aligned.curves[0, 0].tolist() == [1, 1, 2, 3, 3]
    assert np.isnan(aligned.curves[1, 0]).all()  # no observed value
    assert np.isnan(aligned.curves[2, 0]).all() and np.isnan(aligned.n_points[2])  # no series


def test_blocks_never_interpolate_towards_a_neighbouring_individual() -> None:
    rng = np.random.default_rng(3)
    n, points = 40, 12
    times = [np.sort(rng.choice(1000, points, replace=False)).tolist() for _ in range(n)]
    values = [(rng.normal(size=points) + 100 * i).tolist() for i in range(n)]
    for i in range(n):  # holes at the ends of some series
        if i % 3 == 0:
            values[i][0] = values[i][-1] = np.nan
    aligned = align(_read(_table(times, values), n), 25)
    for i in range(n):
        observed = np.array(values[i])
        u = (np.array(times[i]) - times[i][0]) / (times[i][-1] - times[i][0])
        keep = ~np.isnan(observed)
        expected = np.interp(aligned.grid, u[keep], observed[keep])
        np.testing.assert_allclose(aligned.curves[i, 0], expected, rtol=0, atol=1e-9)


def test_uniform_unalignment_rebuilds_a_series_on_its_frame() -> None:
    grid_values = np.array([[[0.0, 10.0, 20.0]], [[5.0, 5.0, 5.0]], [[1.0, 2.0, 3.0]]])
    out = unalign(
        grid_values,
        n_points=np.array([5.0, np.nan, 2.0]),
        start=np.array([100.0, 0.0, -1.0]),
        duration=np.array([10.0, 1.0, 4.0]),
        method=UnalignmentMethod.UNIFORM,
    )
    assert out.owner.tolist() == [0, 0, 0, 0, 0, 2, 2]  # avatar 1 has no series
    assert out.times.tolist() == [100, 102.5, 105, 107.5, 110, -1, 3]
    assert out.values[:, 0].tolist() == [0, 5, 10, 15, 20, 1, 3]


def test_skip_unalignment_keeps_the_grid() -> None:
    out = unalign(
        np.array([[[0.0, 1.0, 4.0]]]),
        n_points=np.array([11.0]),
        start=np.array([0.0]),
        duration=np.array([10.0]),
        method=UnalignmentMethod.SKIP,
    )
    assert out.times.tolist() == [0, 5, 10] and out.values[:, 0].tolist() == [0, 1, 4]


def test_integer_times_stay_strictly_increasing() -> None:
    out = unalign(
        np.zeros((2, 1, 4)),
        n_points=np.array([6.0, 3.0]),
        start=np.array([0.0, 7.0]),
        duration=np.array([2.0, 2.0]),  # steps below 1 would repeat rounded times
        method=UnalignmentMethod.UNIFORM,
        time_quantum=1.0,
    )
    assert out.times.tolist() == [0, 1, 2, 3, 4, 5, 7, 8, 9]


def test_align_then_unalign_is_exact_on_the_original_frame() -> None:
    rng = np.random.default_rng(0)
    lengths = [7, 12, 30]
    times = [np.cumsum(np.full(m, 3.0)).tolist() for m in lengths]  # regular steps
    values = [rng.normal(size=m).tolist() for m in lengths]
    df = _table(times, values)
    aligned = align(_read(df, 3), 30)
    # the 30-point grid contains every 7- and 12-point grid? no: only exact for m = 30
    out = unalign(
        aligned.curves, aligned.n_points, aligned.start, aligned.duration, UnalignmentMethod.UNIFORM
    )
    third = out.owner == 2
    np.testing.assert_allclose(out.times[third], times[2])
    np.testing.assert_allclose(out.values[third, 0], values[2], atol=1e-12)


# -- functional PCA ------------------------------------------------------------------------------
def _curves(
    n: int = 400, m: int = 101, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """x_i(g) = 3 + a_i √2 sin(2πg) + b_i √2 cos(2πg): two orthonormal modes; the sample's
    a and b are made centred, uncorrelated, of variances 4 and 1."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 1, m)
    raw = rng.normal(size=(n, 2))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))
    a, b = 2 * np.sqrt(n) * q[:, 0], np.sqrt(n) * q[:, 1]
    modes = np.sqrt(2) * np.stack([np.sin(2 * np.pi * grid), np.cos(2 * np.pi * grid)])
    curves = 3 + np.column_stack([a, b]) @ modes + noise * rng.normal(size=(n, m))
    return curves, grid


def test_trapezoid_weights_integrate() -> None:
    grid = np.array([0.0, 0.1, 0.5, 1.0])
    weights = trapezoid_weights(grid)
    assert weights.sum() == pytest.approx(1.0)
    assert float(weights @ grid**1) == pytest.approx(0.5)  # exact for linear functions


def test_fpca_recovers_known_modes_and_variances() -> None:
    curves, grid = _curves()
    fpca = CurveProjection.fit(curves, grid, ProjectionType.FPCA, 5)
    assert fpca.n_features == 2  # the rank: the 3 others carry rounding noise only
    modes = np.sqrt(2) * np.stack([np.sin(2 * np.pi * grid), np.cos(2 * np.pi * grid)])
    np.testing.assert_allclose(np.abs(fpca.components), np.abs(modes), atol=1e-9)
    np.testing.assert_allclose(fpca.eigenvalues, [4, 1], rtol=1e-9)
    assert fpca.explained_variance_ratio.sum() == pytest.approx(1.0)
    scores = fpca.transform(curves)
    # scores: uncorrelated, variance λ_k; eigenfunctions orthonormal under the quadrature
    np.testing.assert_allclose(scores.var(axis=0), fpca.eigenvalues, rtol=1e-9)
    assert abs(np.corrcoef(scores.T)[0, 1]) < 1e-9
    gram = (fpca.components * fpca.weights) @ fpca.components.T
    np.testing.assert_allclose(gram, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(fpca.inverse_transform(scores), curves, atol=1e-9)


def test_fpca_matches_an_svd_of_the_weighted_curves() -> None:
    curves, grid = _curves(noise=0.3, seed=1)
    fpca = CurveProjection.fit(curves, grid, ProjectionType.FPCA, 4)
    root = np.sqrt(trapezoid_weights(grid))
    centred = (curves - curves.mean(axis=0)) * root
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(fpca.eigenvalues, singular[:4] ** 2 / len(curves), rtol=1e-9)
    for k in range(4):
        reference = vt[k] / root
        assert (
            min(
                np.abs(fpca.components[k] - reference).max(),
                np.abs(fpca.components[k] + reference).max(),
            )
            < 1e-8
        )


def test_fpca_sign_convention_and_rows_with_missing_values() -> None:
    curves, grid = _curves(seed=2)
    flipped = CurveProjection.fit(-curves + 6, grid, ProjectionType.FPCA, 2)
    fpca = CurveProjection.fit(curves, grid, ProjectionType.FPCA, 2)
    np.testing.assert_allclose(fpca.components, flipped.components, atol=1e-12)  # φ, not −φ
    for components in fpca.components:
        assert components[np.argmax(np.abs(components))] > 0
    with_gap = curves.copy()
    with_gap[5, 10] = np.nan
    partial = CurveProjection.fit(with_gap, grid, ProjectionType.FPCA, 2)
    scores = partial.transform(with_gap)
    assert np.isnan(scores[5]).all() and not np.isnan(np.delete(scores, 5, axis=0)).any()


def test_flatten_is_the_identity() -> None:
    curves, grid = _curves(n=20, m=9)
    flat = CurveProjection.fit(curves, grid, ProjectionType.FLATTEN, 3)
    assert flat.n_features == 9
    np.testing.assert_array_equal(flat.inverse_transform(flat.transform(curves)), curves)
    np.testing.assert_allclose(flat.eigenvalues, curves.var(axis=0))


def test_residual_noise_model_recovers_ar1_noise() -> None:
    curves, grid = _curves(n=2_000, m=60, seed=4)
    rng = np.random.default_rng(5)
    rho, sigma = 0.6, 0.3
    noise = np.empty_like(curves)
    noise[:, 0] = rng.standard_normal(len(curves))
    for j in range(1, curves.shape[1]):
        noise[:, j] = rho * noise[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(len(curves))
    fpca = CurveProjection.fit(curves + sigma * noise, grid, ProjectionType.FPCA, 2)
    assert fpca.residual_std is not None
    # the two smooth modes absorb a little of the noise: σ_r and ρ slightly below the truth
    assert fpca.residual_std.mean() == pytest.approx(sigma, rel=0.1)  # measured 0.28
    assert fpca.residual_autocorrelation == pytest.approx(rho, abs=0.1)  # measured 0.54
    draws = fpca.residual_noise(20_000, np.random.default_rng(6))
    assert draws.std(axis=0).mean() == pytest.approx(fpca.residual_std.mean(), rel=0.02)
    lag1 = np.mean(draws[:, 1:] * draws[:, :-1]) / np.mean(draws * draws)
    assert lag1 == pytest.approx(fpca.residual_autocorrelation, abs=0.02)
    flat = CurveProjection.fit(curves, grid, ProjectionType.FLATTEN, 2)
    assert not flat.residual_noise(3, np.random.default_rng(0)).any()  # nothing is dropped


#: scikit-fda 0.10.1 (multimethod 1.12), ``FPCA(n_components=5).fit(FDataGrid(X, grid))`` on
#: sensors_timeseries2.csv (200 individuals × 50 points of sensor3, grid linspace(0, 1, 50)):
#: explained variance ratios and the scores of the first three individuals.
SKFDA_RATIOS = [
    0.6624272990917017, 0.12060674874930521, 0.06735960088578698, 0.04336432524332322,
    0.02834761026614093,
]  # fmt: skip
SKFDA_SCORES = [
    [0.713574108409604, 0.00370986910715016, -0.01844009490955987, -0.02798084916272848,
     0.01710386691592156],
    [-0.15776444797051387, -0.02351401870407194, -0.02107788873764396, -0.01084774989546394,
     0.00976892664281928],
    [0.0843189117220366, -0.01662370212183483, -0.06010382783457617, -0.00611665258860359,
     -0.01889597100082777],
]  # fmt: skip


def test_same_problem_as_scikit_fda_with_its_simpson_weights(monkeypatch) -> None:
    from scipy.integrate import simpson

    import avatars.engine.timeseries.projection as projection

    table = pd.read_csv(
        Path(__file__).resolve().parent.parent / "data" / "examples" / "sensors_timeseries2.csv"
    )
    curves = table.pivot(index="id", columns="t", values="sensor3").to_numpy()
    grid = np.linspace(0, 1, curves.shape[1])
    monkeypatch.setattr(
        projection, "trapezoid_weights", lambda g: simpson(np.eye(len(g)), x=g, axis=1)
    )
    fpca = projection.CurveProjection.fit(curves, grid, ProjectionType.FPCA, 5)
    ratios = fpca.eigenvalues / fpca.total_variance
    np.testing.assert_allclose(ratios, SKFDA_RATIOS, rtol=1e-9)
    scores = fpca.transform(curves)[:3]
    reference = np.array(SKFDA_SCORES)
    signs = np.sign(np.sum(scores * reference, axis=0))  # each library fixes signs its own way
    np.testing.assert_allclose(scores * signs, reference, atol=1e-12)
