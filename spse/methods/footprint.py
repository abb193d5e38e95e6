"""The 200 m cells an observed exceedance at a station affects.

A station stands for the air around it: a traffic or industrial station for a few tens of
metres along its road, a background station for its neighbourhood (methods.md §6.4). The
footprint is the disc of the register's radius (``station_footprint_traffic_m`` for traffic
and industrial stations, ``station_footprint_background_m`` for background ones) around the
station; a cell is affected when any part of its 200 m square lies within the disc, and the
station's own cell always is. Coordinates are EPSG:3035 metres; cells are those of
``grid_cells`` (SW corner ``x_3035``, ``y_3035``, found by the INSEE "partie entière" rule),
so only the few cells around each station are examined, whatever the size of the grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spse.core.register import Parameters

# INSEE / INSPIRE grid resolution (docs/architecture.md "Spatial frame"), not a tunable value.
CELL_SIZE_M = 200.0
CELL_AREA_KM2 = CELL_SIZE_M * CELL_SIZE_M / 1e6


def radius_m(station_class: pd.Series, parameters: Parameters) -> pd.Series:
    """Footprint radius [m] of each station from its class (background or anything else)."""
    background = parameters.float("station_footprint_background_m")
    local = parameters.float("station_footprint_traffic_m")
    return pd.Series(np.where(station_class.to_numpy() == "background", background, local),
                     index=station_class.index, dtype=float)


def footprint_cells(stations: pd.DataFrame, station_cells: pd.DataFrame, grid_cells: pd.DataFrame,
                    parameters: Parameters) -> pd.DataFrame:
    """Cells within each station's footprint: ``station_id``, ``cell_id``, ``distance_m``.

    ``stations`` holds ``station_id`` and ``station_class``. ``distance_m`` is the distance
    from the station to the nearest point of the cell square [m] (0 for its own cell).
    Stations absent from ``station_cells`` have no location and no footprint.
    """
    columns = ["station_id", "cell_id", "distance_m"]
    located = stations.drop_duplicates("station_id").merge(
        station_cells[["station_id", "cell_id", "x_3035", "y_3035"]], on="station_id", how="inner")
    if located.empty:
        return pd.DataFrame(columns=columns)
    radius = radius_m(located["station_class"], parameters).to_numpy()
    reach = int(np.ceil(radius.max() / CELL_SIZE_M))
    steps = np.arange(-reach, reach + 1) * CELL_SIZE_M
    ox, oy = (a.ravel() for a in np.meshgrid(steps, steps))
    sx = located["x_3035"].to_numpy(float)[:, None]
    sy = located["y_3035"].to_numpy(float)[:, None]
    x0 = np.floor(sx / CELL_SIZE_M) * CELL_SIZE_M + ox[None, :]
    y0 = np.floor(sy / CELL_SIZE_M) * CELL_SIZE_M + oy[None, :]
    dx = np.maximum(np.maximum(x0 - sx, sx - (x0 + CELL_SIZE_M)), 0.0)
    dy = np.maximum(np.maximum(y0 - sy, sy - (y0 + CELL_SIZE_M)), 0.0)
    distance = np.hypot(dx, dy)
    i, j = np.nonzero(distance <= radius[:, None])
    candidates = pd.DataFrame({"station_id": located["station_id"].to_numpy()[i],
                               "x_3035": x0[i, j].astype(np.int64), "y_3035": y0[i, j].astype(np.int64),
                               "distance_m": distance[i, j]})
    corners = grid_cells[["cell_id"]].assign(x_3035=grid_cells["x_3035"].astype(np.int64),
                                             y_3035=grid_cells["y_3035"].astype(np.int64))
    near = candidates.merge(corners, on=["x_3035", "y_3035"])[columns]
    own = pd.DataFrame({"station_id": located["station_id"], "cell_id": located["cell_id"], "distance_m": 0.0})
    both = pd.concat([own, near], ignore_index=True)
    return (both.sort_values(["station_id", "cell_id", "distance_m"])
            .drop_duplicates(["station_id", "cell_id"]).reset_index(drop=True)[columns])
