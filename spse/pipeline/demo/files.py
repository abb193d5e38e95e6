"""Writing bundle files with fixed bytes: UTF-8, LF line ends, stable key order."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.geometry


def write(root: Path, relative: str, data: bytes | str, *, bom: bool = False) -> Path:
    """Write ``data`` at ``root/relative`` (UTF-8, with a BOM when asked)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + payload)
    return path


def csv_text(frame: pd.DataFrame, sep: str) -> str:
    """A CSV text of ``frame`` (header included), minimal quoting, LF line ends."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=sep, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


def json_text(obj) -> str:
    """``obj`` as JSON text, non-ASCII characters kept (French names and units)."""
    return json.dumps(obj, ensure_ascii=False)


def feature_collection(name: str, geometries, properties: list[dict]) -> str:
    """A GeoJSON FeatureCollection (lon/lat) of ``geometries`` with their ``properties``."""
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}
                for geom, props in zip(geometries, properties, strict=True)]
    return json.dumps({"type": "FeatureCollection", "name": name, "features": features}, ensure_ascii=False)


def decimal_text(values, decimals: int) -> np.ndarray:
    """Numbers as fixed-decimal text with trailing zeros dropped (``2.725``, ``1.1``, ``0.0``)."""
    text = np.char.rstrip(np.char.mod(f"%.{decimals}f", np.asarray(values, dtype=float)), "0")
    return np.where(np.char.endswith(text, "."), np.char.add(text, "0"), text)
