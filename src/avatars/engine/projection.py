"""Factor analysis of mixed data: FAMD, with PCA and MCA as its special cases (method.md §1.6).

Notation: continuous columns ``j`` with mean ``μ_j`` and population standard deviation ``σ_j``;
categorical variables ``v`` with modalities ``m``, one-hot ``δ_im`` and shares ``p_m``; column
weights ``ω`` (default 1). Each record becomes the row

    z_ij = √ω_j (x_ij − μ_j) / σ_j                     continuous (σ_j = 1 for a constant column)
    z_im = √ω_v (δ_im − p_m) / √p_m                    every modality of every categorical

and the principal axes are the eigenvectors ``V`` of ``ZᵀZ`` (the right singular vectors of
``Z``). Coordinates are ``C = Z V``; truncated to ``ncp`` columns they are the space of the
k-nearest-neighbour search. With all ``ω = 1`` this is the standard FAMD of Pagès (and saiph's
FAMD coordinates); all-continuous tables give the standardized PCA; all-categorical tables give
the MCA, whose coordinates are the FAMD ones divided by ``√Q`` (``Q`` categorical variables),
as in saiph's MCA. Squared distances in the full space are ``Σ_j ω_j (z_ij − z_lj)²``: a larger
weight separates records more on that variable (the standard weighted FAMD recommended in
method.md §1.6 instead of saiph's weight quirk).

Why our own implementation rather than saiph: ``ZᵀZ`` is accumulated over bounded row chunks
and ``Z`` is never materialized, so fitting and projecting a million rows needs memory for one
chunk plus a p × p matrix; results agree with saiph's exact (full SVD) coordinates up to the
sign of each axis (tested on the paper's data). Measured by ``benchmarks/projection_vs_saiph.py``
on 1,000,000 × 16 rows: 3.0 s and 1.0 GB peak here against 6.4 s and 2.1 GB for saiph's full SVD
(coordinates equal to 1e-10), and 4.1 s and 1.8 GB for the randomized SVD saiph switches to when
given ``nf``, whose axes are only approximate (on that table they differ by several standard
deviations from the exact ones once two eigenvalues are close). Each axis' sign is fixed so that
its largest loading is positive, making coordinates reproducible across runs and machines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidParameterError
from avatars.engine.preprocessing import EncodedTable

#: Rows × dimensions of the scaled matrix built at once (bounded memory: ~160 MB of float64).
CHUNK_CELLS = 20_000_000

#: Axes with an eigenvalue below this fraction of the largest carry only rounding noise.
RANK_TOLERANCE = 1e-10


class ProjectionKind(StrEnum):
    FAMD = "famd"
    PCA = "pca"
    MCA = "mca"


@dataclass
class Projection:
    """A fitted FAMD/PCA/MCA. Build it with :meth:`fit`, use :meth:`transform`."""

    kind: ProjectionKind
    continuous_names: list[str]
    categorical_names: list[str]
    mean: np.ndarray
    std: np.ndarray
    shares: list[np.ndarray]  # per categorical variable, the share of each modality
    continuous_scale: np.ndarray  # √ω_j / σ_j
    categorical_scale: list[np.ndarray]  # per variable: √ω_v / √p_m
    axes: np.ndarray  # (n_dimensions, rank) eigenvectors, strongest first
    eigenvalues: np.ndarray  # (rank,) variance of the coordinates along each axis
    total_inertia: float
    coordinate_scale: float  # 1, or 1/√Q for the MCA

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        table: EncodedTable,
        n_modalities: list[int],
        column_weights: Mapping[str, float] | None = None,
    ) -> Projection:
        """Fit the axes on a complete (imputed) encoded table."""
        weights = dict(column_weights or {})
        n = table.n_rows
        cont = table.continuous
        if cont.size and np.isnan(cont).any():
            raise ValueError("the projection needs an imputed table (NaN found)")
        if table.codes.size and (table.codes < 0).any():
            raise ValueError("the projection needs an imputed table (missing code found)")
        has_cont, has_cat = cont.shape[1] > 0, table.codes.shape[1] > 0
        kind = (
            ProjectionKind.FAMD
            if has_cont and has_cat
            else ProjectionKind.PCA
            if has_cont
            else ProjectionKind.MCA
        )
        mean = cont.mean(axis=0) if has_cont else np.zeros(0)
        std = cont.std(axis=0) if has_cont else np.zeros(0)  # population std (ddof = 0)
        safe_std = np.where(std > np.finfo(np.float64).tiny, std, 1.0)
        cont_weight = np.array([weights.get(c, 1.0) for c in table.continuous_names])
        shares, cat_scale = [], []
        for j, m in enumerate(n_modalities):
            counts = np.bincount(table.codes[:, j], minlength=m).astype(np.float64)
            p = counts / n
            shares.append(p)
            w = weights.get(_data_column_of(table.categorical_names[j]), 1.0)
            with np.errstate(divide="ignore"):
                cat_scale.append(np.where(p > 0, np.sqrt(w) / np.sqrt(p), 0.0))
        proj = cls(
            kind=kind,
            continuous_names=list(table.continuous_names),
            categorical_names=list(table.categorical_names),
            mean=mean,
            std=std,
            shares=shares,
            continuous_scale=np.sqrt(cont_weight) / safe_std,
            categorical_scale=cat_scale,
            axes=np.zeros((0, 0)),
            eigenvalues=np.zeros(0),
            total_inertia=0.0,
            coordinate_scale=1.0 / np.sqrt(len(n_modalities))
            if kind == ProjectionKind.MCA
            else 1.0,
        )
        gram = np.zeros((proj.n_dimensions, proj.n_dimensions))
        for block in proj._scaled_blocks(table):
            gram += block.T @ block
        eigenvalues, vectors = np.linalg.eigh(gram / n)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = eigenvalues[order], vectors[:, order]
        top = eigenvalues[0] if eigenvalues.size else 0.0
        rank = int(np.sum(eigenvalues > RANK_TOLERANCE * max(top, np.finfo(float).tiny)))
        vectors = vectors[:, :rank]
        # sign convention: the largest loading of each axis is positive
        pivots = np.argmax(np.abs(vectors), axis=0)
        signs = np.sign(vectors[pivots, np.arange(rank)])
        signs[signs == 0] = 1.0
        proj.axes = vectors * signs
        proj.eigenvalues = np.clip(eigenvalues[:rank], 0.0, None) * proj.coordinate_scale**2
        proj.total_inertia = float(np.clip(eigenvalues, 0.0, None).sum()) * proj.coordinate_scale**2
        return proj

    # -- queries ------------------------------------------------------------------------
    @property
    def n_dimensions(self) -> int:
        """Columns of the scaled matrix: continuous columns plus every modality."""
        return len(self.continuous_names) + sum(len(p) for p in self.shares)

    @property
    def rank(self) -> int:
        return int(self.axes.shape[1])

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        if self.total_inertia <= 0:
            return np.zeros(self.rank)
        return self.eigenvalues / self.total_inertia

    def check_ncp(self, ncp: object, parameter: str = "ncp", *, default: bool = False) -> int:
        """``ncp`` must be an integer in [1, rank]: the axes the data actually has.

        A ``default`` value (not chosen by the user) is lowered to the rank instead.
        """
        if default and isinstance(ncp, int):
            return max(1, min(ncp, self.rank))
        if not isinstance(ncp, int | np.integer) or isinstance(ncp, bool):
            raise InvalidParameterError(parameter, f"expected an integer, got {ncp!r}")
        if not 1 <= ncp <= self.rank:
            raise InvalidParameterError(
                parameter,
                f"must be between 1 and {self.rank} (the number of dimensions of this table "
                f"after one-hot encoding of its categorical columns), got {ncp}",
            )
        return int(ncp)

    def transform(self, table: EncodedTable, n_components: int | None = None) -> np.ndarray:
        """Coordinates of any table encoded like the fitted one (codes ``-1``: no modality)."""
        n_components = self.rank if n_components is None else min(n_components, self.rank)
        axes = self.axes[:, :n_components] * self.coordinate_scale
        out = np.empty((table.n_rows, n_components))
        start = 0
        for block in self._scaled_blocks(table):
            out[start : start + block.shape[0]] = block @ axes
            start += block.shape[0]
        return out

    def coordinates_frame(self, coordinates: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            coordinates, columns=[f"Dim. {i + 1}" for i in range(coordinates.shape[1])]
        )

    def contributions(self, n_components: int | None = None) -> pd.DataFrame:
        """Contribution (in %) of each variable to each axis: the share of the axis' squared
        loadings carried by the variable's columns (all modalities of a categorical)."""
        n_components = self.rank if n_components is None else min(n_components, self.rank)
        squared = self.axes[:, :n_components] ** 2
        rows, names, start = [], [], 0
        for name in self.continuous_names:
            rows.append(squared[start])
            names.append(name)
            start += 1
        for name, p in zip(self.categorical_names, self.shares, strict=True):
            rows.append(squared[start : start + len(p)].sum(axis=0))
            names.append(name)
            start += len(p)
        frame = pd.DataFrame(
            np.array(rows) * 100.0,
            index=names,
            columns=[f"Dim. {i + 1}" for i in range(n_components)],
        )
        return frame

    # -- internals ----------------------------------------------------------------------
    def _scaled_blocks(self, table: EncodedTable) -> Iterator[np.ndarray]:
        """The scaled matrix Z of the module docstring, in chunks of rows."""
        n = table.n_rows
        chunk = max(1, CHUNK_CELLS // max(1, self.n_dimensions))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            block = np.empty((stop - start, self.n_dimensions))
            p_c = len(self.continuous_names)
            if p_c:
                block[:, :p_c] = (table.continuous[start:stop] - self.mean) * self.continuous_scale
            col = p_c
            for j, (p, scale) in enumerate(zip(self.shares, self.categorical_scale, strict=True)):
                m = len(p)
                codes = table.codes[start:stop, j]
                dummies = np.zeros((stop - start, m))
                present = codes >= 0
                dummies[np.flatnonzero(present), codes[present]] = 1.0
                block[:, col : col + m] = (dummies - p) * scale
                col += m
            yield block


def _data_column_of(categorical_name: str) -> str:
    """Missingness indicators take the weight of the column they describe."""
    from avatars.engine.preprocessing import MISSING_INDICATOR_PREFIX

    if categorical_name.startswith(MISSING_INDICATOR_PREFIX):
        return categorical_name[len(MISSING_INDICATOR_PREFIX) :]
    return categorical_name
