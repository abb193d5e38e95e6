"""The hourly background surface as the alert rules read it: per pollutant, a (cells × hours) matrix.

Either from the day's surface file as arrays (:func:`spse.pipeline.surfacestore.read_values`:
``value`` [pollutant, time, cell], µg/m³, NaN where no background station was valid) or from
the long ``surface_hourly`` frame (``cell_id``, ``pollutant``, ``ts_start_utc``, ``value``). Both give
the matrix of :func:`spse.methods.alert_rules.hourly_matrix`: rows are the cells with a value in
at least one hour of the day, sorted by ``cell_id``; columns the UTC hour-beginning instants asked for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from spse.methods import alert_rules as rules


class HourlySurface:
    """The highest value and the (cells × ``hours``) matrix of each pollutant of one day's hourly surface."""

    def __init__(self, hours: pd.DatetimeIndex, grid: xr.Dataset | None = None,
                 frame: pd.DataFrame | None = None) -> None:
        """Read ``grid`` (the day's surface file) when it has pollutants, else the long ``frame``.

        ``hours`` are the UTC hour-beginning instants of the local day (the matrices' columns).
        """
        self._hours = hours
        self._matrices: dict[str, pd.DataFrame] = {}
        if grid is not None and grid.sizes.get("pollutant"):
            self._frame = None
            self._values = grid["value"].to_numpy().astype(float)
            self._pollutants = [str(p) for p in grid["pollutant"].to_numpy()]
            self._times = pd.DatetimeIndex(grid["time"].to_numpy()).tz_localize("UTC")
            self._cells = pd.Index(grid["cell_id"].to_numpy().astype(str), name="cell_id")
            self.highest = {p: float(np.nanmax(v)) for p, v in zip(self._pollutants, self._values, strict=True)
                            if not np.isnan(v).all()}
        else:
            self._frame = pd.DataFrame(columns=["pollutant", "value"]) if frame is None else frame
            self.highest = ({} if self._frame.empty
                            else self._frame.groupby("pollutant", sort=False)["value"].max().to_dict())

    def matrix(self, pollutant: str) -> pd.DataFrame:
        """Values [µg/m³] of ``pollutant`` over (cells × hours), NaN where absent; computed once per pollutant."""
        if pollutant not in self._matrices:
            self._matrices[pollutant] = self._matrix(pollutant, self._hours)
        return self._matrices[pollutant]

    def _matrix(self, pollutant: str, hours: pd.DatetimeIndex) -> pd.DataFrame:
        if self._frame is not None:
            rows = self._frame[self._frame["pollutant"] == pollutant] if len(self._frame) else self._frame
            return rules.hourly_matrix(rows, ["cell_id"], hours)
        if pollutant not in self._pollutants:
            return rules.hourly_matrix(pd.DataFrame(columns=["cell_id", "ts_start_utc", "value"]), ["cell_id"], hours)
        values = self._values[self._pollutants.index(pollutant)]
        matrix = pd.DataFrame(values.T, index=self._cells, columns=self._times).reindex(columns=hours)
        return matrix[matrix.notna().any(axis=1).to_numpy()].sort_index()
