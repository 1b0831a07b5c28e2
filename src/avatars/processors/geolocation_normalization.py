"""Longitudes expressed within the ranges where points exist at their latitude, so that
avatars avoid the empty areas of a map (a lake, a forest, outside a border)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from avatars.processors._base import (
    check_columns,
    check_fitted,
    check_int,
    check_name,
    check_numeric,
)

__all__ = ["GeolocationNormalizationProcessor"]

#: Float noise tolerated when a normalized value falls on the boundary of two ranges.
_SNAP = 1e-9


@dataclass(frozen=True)
class _Band:
    """The longitudes seen around one reference latitude: ``[low, high]`` cut into ``n_bins``
    equal bins, of which ``occupied`` (sorted bin numbers) hold at least one point."""

    low: float
    high: float
    n_bins: int
    occupied: np.ndarray

    @property
    def width(self) -> float:
        return (self.high - self.low) / self.n_bins


class GeolocationNormalizationProcessor:
    """Express the longitude as a position in [0, 1] among the occupied longitude ranges of
    the nearest reference latitude, and back.

    ``preprocess`` picks ``n_reference_lat`` equally spaced reference latitudes between the
    smallest and largest latitude; each point belongs to the references within half a step of
    its latitude. At each reference the longitudes of its points, from their minimum to their
    maximum, are cut into ``n_bins`` equal bins; the ``m`` bins holding points are laid end
    to end on [0, 1] (bin ``i`` of them covers ``[i/m, (i+1)/m]``), and each longitude is
    replaced by its position there, using its nearest reference. ``postprocess`` maps a value
    in [0, 1] (clipped to it) back into the occupied bins of the nearest reference to the
    row's latitude: avatars land only where original points were. Latitudes are unchanged;
    rows missing either coordinate keep a missing longitude.

    Example::

        p = GeolocationNormalizationProcessor(latitude_variable="lat", longitude_variable="lon",
                                              n_reference_lat=50, n_bins=20)
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self, *, latitude_variable: str, longitude_variable: str, n_reference_lat: int, n_bins: int
    ) -> None:
        check_name(latitude_variable, argument="latitude_variable")
        check_name(longitude_variable, argument="longitude_variable")
        self.latitude_variable = latitude_variable
        self.longitude_variable = longitude_variable
        self.n_reference_lat = check_int(n_reference_lat, argument="n_reference_lat", minimum=1)
        self.n_bins = check_int(n_bins, argument="n_bins", minimum=1)
        #: Reference latitudes and, for each, the occupied longitude bins (set by preprocess).
        self.reference_latitudes = np.empty(0)
        self.bands: list[_Band] = []

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the longitude as a position in [0, 1] at its latitude."""
        self._check(df, "df")
        lat, lon = self._coordinates(df)
        known = ~(np.isnan(lat) | np.isnan(lon))
        self._fit(lat[known], lon[known])
        normalized = np.full(len(df), np.nan)
        normalized[known] = self._normalize(lat[known], lon[known])
        out = df.copy()
        out[self.longitude_variable] = normalized
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the longitude back in degrees, inside the original's occupied ranges."""
        check_fitted(bool(self.bands), self)
        self._check(dest, "dest")
        lat, position = self._coordinates(dest)
        known = ~(np.isnan(lat) | np.isnan(position))
        lon = np.full(len(dest), np.nan)
        lon[known] = self._denormalize(lat[known], position[known])
        out = dest.copy()
        out[self.longitude_variable] = lon
        return out

    # -- the model --------------------------------------------------------------------------

    def _fit(self, lat: np.ndarray, lon: np.ndarray) -> None:
        self.reference_latitudes, self.bands = np.empty(0), []
        if len(lat) == 0:
            return
        low, high = float(lat.min()), float(lat.max())
        references = np.linspace(low, high, self.n_reference_lat)
        step = (high - low) / (self.n_reference_lat - 1) if self.n_reference_lat > 1 else 0.0
        nearest = np.abs(lat[:, None] - references[None, :]).argmin(axis=1)
        kept, bands = [], []
        for index, reference in enumerate(references):
            # within half a step: all points when the references cover the latitudes evenly;
            # the nearest reference is added explicitly so float noise cannot leave a point out
            members = (np.abs(lat - reference) <= 0.5 * step) | (nearest == index)
            if not members.any():
                continue  # a reference in a gap between latitudes has no band (not used)
            near = lon[members]
            band = _Band(float(near.min()), float(near.max()), self.n_bins, np.empty(0, int))
            occupied = np.unique(_bin_of(band, near))
            kept.append(reference)
            bands.append(_Band(band.low, band.high, self.n_bins, occupied))
        self.reference_latitudes, self.bands = np.asarray(kept), bands

    def _nearest(self, lat: np.ndarray) -> np.ndarray:
        """Index of the nearest reference latitude (the lower one on a tie)."""
        return np.abs(lat[:, None] - self.reference_latitudes[None, :]).argmin(axis=1)

    def _normalize(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        out = np.empty(len(lat))
        nearest = self._nearest(lat)
        for index, band in enumerate(self.bands):
            rows = nearest == index
            if not rows.any():
                continue
            bins = _bin_of(band, lon[rows])
            # a point of the fit is always in an occupied bin of its nearest reference
            rank = np.clip(np.searchsorted(band.occupied, bins), 0, len(band.occupied) - 1)
            within = _within(band, lon[rows], band.occupied[rank])
            out[rows] = (rank + within) / len(band.occupied)
        return out

    def _denormalize(self, lat: np.ndarray, position: np.ndarray) -> np.ndarray:
        out = np.empty(len(lat))
        nearest = self._nearest(lat)
        for index, band in enumerate(self.bands):
            rows = nearest == index
            if not rows.any():
                continue
            count = len(band.occupied)
            scaled = np.clip(position[rows], 0.0, 1.0) * count
            snapped = np.where(np.abs(scaled - np.rint(scaled)) < _SNAP, np.rint(scaled), scaled)
            rank = np.clip(np.floor(snapped), 0, count - 1).astype(int)
            within = snapped - rank
            out[rows] = band.low + (band.occupied[rank] + within) * band.width
        return out

    def _coordinates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (
            df[self.latitude_variable].to_numpy(dtype="float64", na_value=np.nan),
            df[self.longitude_variable].to_numpy(dtype="float64", na_value=np.nan),
        )

    def _check(self, df: pd.DataFrame, table: str) -> None:
        for argument in ("latitude_variable", "longitude_variable"):
            column = getattr(self, argument)
            check_columns(df, [column], argument=argument, table=table)
            check_numeric(df, [column], argument=argument, table=table)


def _bin_of(band: _Band, lon: np.ndarray) -> np.ndarray:
    """Bin number of each longitude (the maximum belongs to the last bin)."""
    if band.high == band.low:
        return np.zeros(len(lon), dtype=int)
    return np.clip(np.floor((lon - band.low) / band.width), 0, band.n_bins - 1).astype(int)


def _within(band: _Band, lon: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Position of each longitude inside its bin, in [0, 1] (the middle when the band is a
    single longitude: any position maps back to it)."""
    if band.high == band.low:
        return np.full(len(lon), 0.5)
    return np.clip((lon - (band.low + bins * band.width)) / band.width, 0.0, 1.0)
