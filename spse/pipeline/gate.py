"""The data-quality gate between parse and lake write, the same for every source.

``spse.pipeline.ingest`` passes each partition's parsed rows through :func:`inspect` before
anything is written. What is checked comes from the source's declarations
(:class:`spse.sources.base.Source`) and the registers, never from literals:

* **measured values** (``Source.measures``) against ``registers/plausibility.csv``
  (hourly plausible range per quantity and unit) and the ``no_data_sentinels``
  parameter: a sentinel, a unit that is not the quantity's unit (NO2 in mg/m³), or a value
  outside its range is quarantined with the reason (daily sources); a reference vintage
  holding one is refused as a whole (a unit or scaling error upstream);
* **timestamps against the file's day** (``Source.day_window``: the UTC day of an E2
  file, the local day of a noise partition): rows of another day are quarantined;
* **completeness** of daily measurement datasets (``Source.series_key``): the series
  found in the day's files or in the previous day's partition × the hours of the day
  that have ended, against the station-hours present; below ``completeness_min_fraction``
  the partition is written but recorded ``partial`` (and re-fetched by the next run); a
  day with no usable row at all is refused;
* **reference vintages**: an empty vintage is refused; so is one whose feature count is
  outside ``registers/reference_checks.csv`` (20 arrondissements), or which differs from
  the previous vintage beyond the registered tolerances (feature count, total
  population, bounding-box overlap).

A refusal raises :class:`spse.core.errors.RefusedInput` before any write, so the previous
partition stays byte-identical; ``spse.pipeline.ingest`` records it as ``refused`` in the quality
log, which the daily run turns into a ``data_quality`` alert.

The per-value checks, which parsers call too, are :mod:`spse.sources._gate`. Only
:func:`inspect` reads the lake (:func:`previous_day`, :func:`previous_vintage`);
:func:`completeness` and :func:`check_reference` receive the frames they compare with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from spse.core import register
from spse.core.columns import QUARANTINE_COLUMNS
from spse.core.errors import RefusedInput
from spse.pipeline import lake
from spse.sources._gate import day_reasons, value_reasons
from spse.sources.base import ParseResult, Source

HOUR = pd.Timedelta(hours=1)


@dataclass
class Verdict:
    """What the gate lets through: rows to write, rows to quarantine, and the outcome."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    outcome: str = "ok"
    problems: list[dict] = field(default_factory=list)
    completeness: dict | None = None


def inspect(source: Source, day: dt.date, result: ParseResult, files: list[str],
            now: dt.datetime | None = None) -> Verdict:
    """Pass one parsed partition of ``source`` through the gate (see the module docstring).

    ``files`` are the partition's relative file names; ``now`` (UTC) is the fetch time,
    which bounds the hours expected of a day still running. Raises
    :class:`spse.core.errors.RefusedInput` when the input must not replace the previous one.
    """
    frame = result.frame.reset_index(drop=True)
    label = ",".join(files)
    reasons = np.full(len(frame), None, dtype=object)
    for measure in source.measures:
        for column in measure.columns:
            quantity = frame[measure.quantity_column] if measure.quantity_column else measure.quantity
            unit = frame[measure.unit_column] if measure.unit_column else measure.unit
            _first(reasons, value_reasons(column, frame[column], quantity, unit,
                                          with_sentinels=measure.sentinels))
    window = source.day_window(day)
    if window is not None and len(frame):
        _first(reasons, day_reasons(frame[source.time_column], window, source.day_window_label(day)))
    bad = ~pd.isna(reasons)
    if source.cadence == "reference":
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise RefusedInput(source.name, f"{int(bad.sum())} implausible feature(s), first: feature "
                               f"{_describe(frame.iloc[i])}: {reasons[i]}; the previous vintage is kept",
                               file=_file_of(frame, i, label), row=_row_of(frame, i))
        check_reference(source, frame, label, previous_vintage(source))
        return Verdict(frame, result.rejects)
    rejects = _rejects(source.name, frame, bad, reasons, label)
    kept = frame.loc[~bad].reset_index(drop=True)
    verdict = Verdict(kept, _concat(result.rejects, rejects))
    if source.series_key:
        if kept.empty:
            received = len(frame) + len(result.rejects)
            raise RefusedInput(source.name, f"no usable row in the day's files ({received} row(s) received, all "
                               "quarantined or none); the previous partition, if any, is kept", file=label)
        verdict.completeness = completeness(source, day, frame, kept, now or dt.datetime.now(dt.UTC),
                                            _previous_series(source, day))
        c = verdict.completeness
        minimum = register.parameters().float("completeness_min_fraction")
        if c["fraction"] < minimum:
            verdict.outcome = "partial"
            verdict.problems.append({"check": "completeness", "file": label, "row": None, "detail": (
                f"{c['present']} of {c['expected']} expected station-hours ({c['series']} series × {c['hours']} h, "
                f"{c['fraction']:.0%} < {minimum:.0%}): "
                "the day is incomplete and will be re-fetched")})
    return verdict


def previous_day(source: Source, day: dt.date) -> pd.DataFrame | None:
    """``source``'s partition of the day before ``day`` in the lake, ``None`` when it has none."""
    previous = source.partition_for(day - dt.timedelta(days=1))
    if not lake.has_partition(source.dataset, previous, source.name):
        return None
    return lake.read_partition(source.dataset, previous, source.name)


def written(source: Source, day: dt.date, frame: pd.DataFrame, path: Path) -> None:
    """Note that this thread's ingest just wrote ``frame`` to ``path``, ``source``'s partition of ``day``.

    The next day's gate then takes that day's series from ``frame`` instead of reading the
    file back, as long as the file at ``path`` is still the one written (a backfill ingests
    a source's days in order, one thread or process per source).
    """
    _WRITTEN.last = (source.name, source.partition_for(day), path, _file_id(path), frame[list(source.series_key)])


def _previous_series(source: Source, day: dt.date) -> pd.DataFrame | None:
    """The series-key columns of :func:`previous_day`, from :func:`written` when its file is still in place."""
    last = getattr(_WRITTEN, "last", None)
    if last is not None and last[:2] == (source.name, source.partition_for(day - dt.timedelta(days=1))):
        with contextlib.suppress(OSError):
            if _file_id(last[2]) == last[3]:
                return last[4]
    return previous_day(source, day)


def _file_id(path: Path) -> tuple[int, int, int, int]:
    """What changes when a file is replaced or rewritten: device, inode, size, modification time [ns]."""
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


_WRITTEN = threading.local()  # .last: (source, partition, path, file id, series columns) of this thread's last write


def previous_vintage(source: Source) -> pd.DataFrame | None:
    """``source``'s latest partition (its vintage in place) in the lake, ``None`` when it has none."""
    latest = lake.latest_partition(source.dataset, source.name)
    return None if latest is None else lake.read_partition(source.dataset, latest, source.name)


def completeness(source: Source, day: dt.date, received: pd.DataFrame, kept: pd.DataFrame,
                 now: dt.datetime, before: pd.DataFrame | None) -> dict:
    """Expected and present station-hours of ``day``'s partition.

    Expected = series (``source.series_key``) found in ``received`` or in ``before`` (the
    previous day's partition, ``None`` when there is none) × the hours of ``source.day_window(day)`` that ended at least
    ``completeness_publication_lag_hours`` before ``now`` (UTC). Present = distinct
    (series, hour) among ``kept`` in those hours.
    """
    key = list(source.series_key)
    start, end = source.day_window(day)
    lag = pd.Timedelta(hours=register.parameters().float("completeness_publication_lag_hours"))
    cutoff = min(end, max(start, pd.Timestamp(now).tz_convert("UTC").floor("h") - lag))
    hours = int((cutoff - start) / HOUR)
    found = [received, before] if before is not None and set(key) <= set(before.columns) else [received]
    series = _distinct(found, key)
    ts = kept[source.time_column]
    present = _distinct([kept], [*key, source.time_column], ((ts >= start) & (ts < cutoff)).to_numpy(dtype=bool))
    expected = series * hours
    return {"series": series, "hours": hours, "expected": expected, "present": present,
            "fraction": present / expected if expected else 1.0}


def _distinct(frames: list[pd.DataFrame], columns: list[str], rows: np.ndarray | None = None) -> int:
    """Distinct rows of ``columns`` over ``frames`` (of the ``rows`` mask), as ``drop_duplicates`` counts them.

    Like ``DataFrame.duplicated``: one column compares its values (``None`` and NaN apart), several
    compare factorized codes (every missing value alike), here combined into one integer per row.
    """
    stacked = [frames[0][c] if len(frames) == 1 else pd.concat([f[c] for f in frames], ignore_index=True)
               for c in columns]
    if rows is not None:
        stacked = [column[rows] for column in stacked]
    if len(stacked) == 1:
        return int((~stacked[0].duplicated()).sum())
    codes = [pd.factorize(column)[0] + 1 for column in stacked]  # 0: missing
    sizes = [int(code.max(initial=0)) + 1 for code in codes]
    if math.prod(sizes) >= 2**63:
        return len(set(zip(*codes, strict=True)))
    combined = np.zeros(len(codes[0]), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        combined = combined * size + code
    return len(pd.unique(combined))


def check_reference(source: Source, frame: pd.DataFrame, label: str, previous: pd.DataFrame | None) -> None:
    """Refuse a reference vintage that is empty, incomplete, or too far from ``previous`` (``None``: the first)."""
    refuse = _refuser(source.name, label)
    n = len(frame)
    if n == 0:
        refuse("the new vintage holds no feature")
    checks = register.reference_checks()
    for row in checks[(checks["dataset"] == source.dataset) & (checks["measure"] == "features")].itertuples():
        if not row.min <= n <= row.max:
            expected = f"{row.min:g}" if row.min == row.max else f"{row.min:g}-{row.max:g}"
            refuse(f"{n} features where a complete vintage holds {expected} ({row.reference})")
    if previous is None:
        return
    params = register.parameters()
    if len(previous) < params.int("reference_min_compared_features"):
        return
    change = (n - len(previous)) / len(previous)
    tolerance = params.float("reference_max_feature_change")
    if abs(change) > tolerance:
        refuse(f"{n} features against {len(previous)} in the previous vintage ({change:+.0%}, "
               f"tolerance ±{tolerance:.0%})")
    if "population" in frame.columns and "population" in previous.columns:
        new_total, old_total = float(frame["population"].sum()), float(previous["population"].sum())
        tolerance = params.float("population_max_total_change")
        if old_total > 0 and abs(new_total - old_total) / old_total > tolerance:
            refuse(f"total population {new_total:,.0f} against {old_total:,.0f} in the previous vintage "
                   f"({(new_total - old_total) / old_total:+.0%}, tolerance ±{tolerance:.0%})")
    overlap = extent_overlap(extent(previous), extent(frame))
    minimum = params.float("reference_min_extent_overlap")
    if overlap is not None and overlap < minimum:
        refuse(f"the extent {_box(extent(frame))} overlaps the previous vintage's {_box(extent(previous))} "
               f"by {overlap:.0%} (intersection over union, minimum {minimum:.0%}): swapped axes or another "
               "projection?")


def extent(frame: pd.DataFrame) -> tuple[float, float, float, float] | None:
    """Bounding box (xmin, ymin, xmax, ymax) of a reference frame's geometries or points.

    From ``geometry_wkt`` (EPSG:3035 m), else ``x_3035``/``y_3035`` (200 m cells' SW
    corners), else ``lon``/``lat`` (°); ``None`` when the frame has none of them.
    """
    if frame.empty:
        return None
    if "geometry_wkt" in frame.columns:
        import shapely

        geoms = shapely.from_wkt(frame["geometry_wkt"].dropna().to_numpy(), on_invalid="ignore")
        box = shapely.total_bounds(geoms)
        return None if np.isnan(box).any() else tuple(float(v) for v in box)
    for x, y in (("x_3035", "y_3035"), ("lon", "lat")):
        if {x, y} <= set(frame.columns):
            return (float(frame[x].min()), float(frame[y].min()), float(frame[x].max()), float(frame[y].max()))
    return None


def extent_overlap(a, b) -> float | None:
    """Intersection over union of two boxes; ``None`` when either is missing or has no area."""
    if a is None or b is None:
        return None
    area = [(box[2] - box[0]) * (box[3] - box[1]) for box in (a, b)]
    if min(area) <= 0:
        return None
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    return inter / (area[0] + area[1] - inter)


def _box(box) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in box) + ")" if box else "(none)"


def _refuser(feed: str, label: str):
    def refuse(problem: str) -> None:
        raise RefusedInput(feed, f"{problem}; the previous vintage is kept", file=label)
    return refuse


def _first(reasons: np.ndarray, new: np.ndarray) -> None:
    """Keep the first reason found for each row."""
    take = pd.isna(reasons) & ~pd.isna(new)
    reasons[take] = new[take]


def _file_of(frame: pd.DataFrame, i: int, label: str) -> str:
    return str(frame["source_file"].iloc[i]) if "source_file" in frame.columns else label


def _row_of(frame: pd.DataFrame, i: int) -> int | None:
    return int(frame["source_row"].iloc[i]) if "source_row" in frame.columns else None


def _describe(row: pd.Series) -> str:
    first = row.index[0]
    return f"{first}={row.iloc[0]}"


def _rejects(feed: str, frame: pd.DataFrame, bad: np.ndarray, reasons: np.ndarray, label: str) -> pd.DataFrame:
    if not bad.any():
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    rows = frame.loc[bad]
    files = rows["source_file"].astype(str) if "source_file" in rows.columns else label
    numbers = rows["source_row"].astype("Int64") if "source_row" in rows.columns else pd.NA
    raw = [json.dumps(r, ensure_ascii=False, default=str) for r in rows.drop(
        columns=[c for c in ("source_file", "source_row") if c in rows.columns]).to_dict("records")]
    out = pd.DataFrame({"source": feed, "file": files, "row": numbers, "reason": reasons[bad], "raw": raw},
                       columns=QUARANTINE_COLUMNS)
    out["row"] = out["row"].astype("Int64")
    return out.reset_index(drop=True)


def _concat(*parts: pd.DataFrame) -> pd.DataFrame:
    kept = [p for p in parts if len(p)]
    return pd.concat(kept, ignore_index=True) if kept else parts[0]
