"""``spse export``: an expert's query written to one file the user names, with its provenance.

The query runs like ``spse sql`` (:mod:`spse.pipeline.warehouse.expert`: one read statement, guarded
connection, time and memory limits); the file is written by Python, never by SQL. It goes
only to the path given: refused inside ``SPSE_HOME`` (lake, warehouse, raw, quarantine,
outbox, bulletin, demo bundle) and inside any source's local input folder, refused when it
exists unless ``force``, written to a temporary file beside it and moved into place in one
step (a hard link when it must not replace anything, so a file created meanwhile is not
overwritten either).

Formats:

* ``csv``: UTF-8, header, comma; provenance in the sidecar ``<path>.provenance.json``.
* ``parquet``: provenance in the file's key-value metadata ``spse_provenance`` (JSON).
* ``geojson``: RFC 7946 FeatureCollection in WGS84 (EPSG:4326, lon/lat, 7 decimals), provenance
  in its ``metadata`` member. Geometry, first match: ``geometry_wkt`` (WKT in EPSG:3035, the
  lake's zone outlines) → that geometry reprojected; ``lon``/``lat`` columns (WGS84) → point;
  ``x_3035``/``y_3035`` (EPSG:3035, m) → point; ``cell_id`` (INSPIRE grid id
  ``CRS3035RES<size>mN<northing>E<easting>``, south-west corner in EPSG:3035) → the cell's
  square, corners reprojected with pyproj (``always_xy``). A NULL location gives a NULL
  geometry; no such columns, or an id that is not an INSPIRE id, refuses the export.

Provenance: the query, the warehouse file and its ``meta.build_info`` (build time, target
day), the export time (UTC), row count, and which sources were read from the synthetic
demo bundle (``meta.lake_partitions`` file URLs under ``settings().demo``): "données
synthétiques".
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
import os
import re
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

from spse.core.config import settings
from spse.core.errors import Refused
from spse.pipeline.warehouse import expert

FORMATS = ("csv", "parquet", "geojson")
_CELL = re.compile(r"^CRS3035RES(?P<size>\d+)mN(?P<n>\d+)E(?P<e>\d+)$")
WGS84_DECIMALS = 7  # ~1 cm at Paris' latitude


def export(sql: str, output: Path, fmt: str, *, force: bool = False, timeout_s: float | None = None,
           memory_limit: str | None = None) -> Path:
    """Run ``sql`` on the published warehouse and write its rows to ``output`` as ``fmt``.

    Returns the path written. Raises :class:`spse.pipeline.warehouse.expert.Refused` (one line saying
    why) for a refused statement or destination, an existing file without ``force``, a query
    past its limits, or a GeoJSON with no derivable geometry.
    """
    if fmt not in FORMATS:
        raise Refused(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    target = _destination(Path(output))
    sidecar = target.with_name(target.name + ".provenance.json") if fmt == "csv" else None
    for path in filter(None, (target, sidecar)):
        if path.exists() and not force:
            raise Refused(f"{path} exists: choose another path or pass --force to replace it")
    table, provenance = expert.run(sql, _read_with_provenance, timeout_s=timeout_s, memory_limit=memory_limit)
    if fmt == "csv":
        _write(target, _csv_bytes(table), force)
        _write(sidecar, _json_bytes(provenance), force)
    elif fmt == "parquet":
        _write(target, _parquet_bytes(table, provenance), force)
    else:
        _write(target, _json_bytes(feature_collection(table, provenance)), force)
    return target


def _destination(output: Path) -> Path:
    """``output`` with its folder resolved (symlinks followed); refused inside spse's own data."""
    folder = output.expanduser().parent
    if not folder.is_dir():
        raise Refused(f"folder {folder} does not exist")
    target = folder.resolve() / output.name
    if target.is_dir():
        raise Refused(f"{target} is a folder: give a file path")
    for protected, what in _protected_folders():
        if target.is_relative_to(protected):
            raise Refused(f"{target} is inside {protected} ({what}): export somewhere else")
    return target


def _protected_folders() -> list[tuple[Path, str]]:
    """Folders an export must not write into: an export there could replace an input or a published file.

    ``SPSE_HOME`` (lake, warehouse, raw, quarantine, outbox, bulletin, demo bundle) and every
    source read from a local folder.
    """
    from spse import sources
    from spse.core.config import source_base_url

    folders = [(settings().home.resolve(), "SPSE_HOME, the pipeline's own files")]
    for source in sources.discover():
        url = source_base_url(source.name)
        scheme = urlparse(url).scheme
        if scheme in ("file", ""):
            folder = Path(unquote(urlparse(url).path)) if scheme == "file" else Path(url)
            folders.append((folder.expanduser().resolve(), f"input of source {source.name}"))
    return folders


def _read_with_provenance(con: duckdb.DuckDBPyConnection, statement: str) -> tuple[pa.Table, dict]:
    table = con.execute(statement).to_arrow_table()
    build = con.execute("select built_at_utc, target_day from meta.build_info").fetchone()
    partitions = con.execute("select provenance_json from meta.lake_partitions "
                             "where provenance_json is not null").fetchall()
    demo_uri = settings().demo.as_uri() + "/"
    synthetic = sorted({p["source"] for (text,) in partitions for p in [json.loads(text)]
                        if any(str(f.get("url", "")).startswith(demo_uri) for f in p.get("files", []))})
    provenance = {
        "query": statement,
        "rows": table.num_rows,
        "warehouse": str(settings().warehouse),
        "warehouse_built_at_utc": build[0].astimezone(dt.UTC).isoformat() if build else None,
        "warehouse_target_day": build[1].isoformat() if build and build[1] else None,
        "exported_at_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic_sources": synthetic,
    }
    if synthetic:
        provenance["avertissement"] = ("données synthétiques : sources lues dans le jeu de démonstration ("
                                       + ", ".join(synthetic) + "), pas des mesures réelles")
    return table, provenance


def feature_collection(table: pa.Table, provenance: dict) -> dict:
    """The rows of ``table`` as an RFC 7946 FeatureCollection in WGS84, ``provenance`` as ``metadata``."""
    rows = table.to_pylist()
    features = [{"type": "Feature", "geometry": geometry, "properties": {k: _plain(v) for k, v in row.items()}}
                for row, geometry in zip(rows, _geometries(table), strict=True)]
    return {"type": "FeatureCollection", "metadata": {**provenance, "crs": "EPSG:4326 (lon, lat)"},
            "features": features}


def _geometries(table: pa.Table) -> list[dict | None]:
    columns = set(table.column_names)
    if "geometry_wkt" in columns:
        return _wkt_geometries(table.column("geometry_wkt").to_pylist())
    if {"lon", "lat"} <= columns:
        lon = _floats(table, "lon")
        lat = _floats(table, "lat")
        return [_point(x, y) for x, y in zip(lon, lat, strict=True)]
    if {"x_3035", "y_3035"} <= columns:
        lon, lat = _to_wgs84(_floats(table, "x_3035"), _floats(table, "y_3035"))
        return [_point(x, y) for x, y in zip(lon, lat, strict=True)]
    if "cell_id" in columns:
        return _cell_polygons(table.column("cell_id").to_pylist())
    raise Refused("GeoJSON needs a location: select lon and lat (WGS84), x_3035 and y_3035 (EPSG:3035), "
                  "cell_id (INSPIRE 200 m cell id) or geometry_wkt (WKT, EPSG:3035)")


def _wkt_geometries(texts: list) -> list[dict | None]:
    shapes = []
    for i, text in enumerate(texts):
        try:
            shapes.append(None if text is None else shapely.from_wkt(text))
        except shapely.errors.GEOSException as exc:
            raise Refused(f"row {i + 1}: geometry_wkt is not WKT ({exc})") from exc
    transformer = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)

    def to_wgs84(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), WGS84_DECIMALS)

    return [None if shape is None else json.loads(shapely.to_geojson(shapely.transform(shape, to_wgs84)))
            for shape in shapes]


def _cell_polygons(ids: list) -> list[dict | None]:
    corners = np.full((len(ids), 5, 2), np.nan)
    for i, cell in enumerate(ids):
        if cell is None:
            continue
        match = _CELL.match(str(cell))
        if match is None:
            raise Refused(f"row {i + 1}: cell_id {cell!r} is not an INSPIRE grid id "
                          "CRS3035RES<size>mN<northing>E<easting>")
        size, north, east = (float(match[k]) for k in ("size", "n", "e"))
        # south-west, south-east, north-east, north-west, closed: counter-clockwise (RFC 7946 §3.1.6)
        corners[i] = [(east, north), (east + size, north), (east + size, north + size), (east, north + size),
                      (east, north)]
    lon, lat = _to_wgs84(corners[..., 0].ravel(), corners[..., 1].ravel())
    lon, lat = lon.reshape(corners.shape[:2]), lat.reshape(corners.shape[:2])
    return [None if cell is None else
            {"type": "Polygon", "coordinates": [[[round(float(x), WGS84_DECIMALS), round(float(y), WGS84_DECIMALS)]
                                                for x, y in zip(lon[i], lat[i], strict=True)]]}
            for i, cell in enumerate(ids)]


def _to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    transformer = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _floats(table: pa.Table, column: str) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in table.column(column).to_pylist()])


def _point(lon: float, lat: float) -> dict | None:
    if math.isnan(lon) or math.isnan(lat):
        return None
    return {"type": "Point", "coordinates": [round(float(lon), WGS84_DECIMALS), round(float(lat), WGS84_DECIMALS)]}


def _plain(value):
    """A JSON value: dates and times in ISO 8601, decimals as numbers, NaN as null."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _csv_bytes(table: pa.Table) -> bytes:
    buffer = io.StringIO()
    table.to_pandas().to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _parquet_bytes(table: pa.Table, provenance: dict) -> bytes:
    metadata = {**(table.schema.metadata or {}), b"spse_provenance": _json_bytes(provenance)}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer)
    return buffer.getvalue()


def _json_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=None).encode("utf-8")


def _write(path: Path, data: bytes, force: bool) -> None:
    """Write ``data`` to ``path`` in one step; without ``force`` never replace an existing file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the user's umask applies, unlike mkstemp
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise Refused(f"{path} exists: choose another path or pass --force to replace it") from exc
    finally:
        tmp.unlink(missing_ok=True)
