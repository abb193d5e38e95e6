"""Shared parsing helpers of the source modules: decoding, delimited text, JSON, GeoJSON.

Every helper raises :class:`spse.core.errors.SchemaError` naming the feed, the file and, when
there is one, the row, for a file in the wrong shape (empty body, HTML page, not JSON).
Row-level problems are not raised: :class:`RowChecks` collects them for the quarantine.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spse.core import register
from spse.core.errors import SchemaError
from spse.sources.base import reject_rows

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml|<!--)", re.IGNORECASE)
_QUOTED = r'"(?:[^"]|"")*"'
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_STEP = np.zeros(256, dtype=np.int32)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def decode_text(payload: bytes, feed: str, file: str, fmt: str) -> str:
    """Text of ``payload``: UTF-8 (with or without BOM), else Windows-1252/Latin-1."""
    reject_non_data(payload, feed, file, fmt)
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = payload.decode("cp1252")
        except UnicodeDecodeError:
            text = payload.decode("latin-1")
    return unicodedata.normalize("NFC", text)


def reject_non_data(payload: bytes, feed: str, file: str, fmt: str) -> None:
    """Raise when the body is empty or is an HTML/XML page (an error page served with 200)."""
    body = payload.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        raise SchemaError(feed, f"empty body where a {fmt} file was expected", file=file)
    if _HTML_START.match(body[:1024]):
        raise SchemaError(feed, f"an HTML/XML page instead of a {fmt} file (starts {body[:60]!r})", file=file, row=1)


def normalise_label(label: str) -> str:
    return unicodedata.normalize("NFC", label).strip().strip('"').strip().casefold()


@dataclass
class Delimited:
    """Rows of delimited files of one header as text, with their 1-based line numbers (header = line 1).

    ``part`` gives each row's file by its index among the files read (:func:`join_delimited`;
    all 0 for one file), rows in file order; ``rejects`` are those of every file.
    """

    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    raw: pd.Series
    rejects: pd.DataFrame
    part: np.ndarray


@dataclass
class DelimitedLines:
    """A delimited file split into lines (:func:`split_delimited`): the well-formed ones and the rejected ones."""

    header: list[str]
    kept: list[str]
    lines: np.ndarray  # 1-based line numbers of ``kept``
    rejects: pd.DataFrame
    plain: bool  # no quote or NUL, one-character separator, no repeated label: split on the separator


def read_delimited(text: str, sep: str, feed: str, file: str) -> Delimited:
    """Split ``text`` into header and string columns; rows with a wrong field count are rejected.

    Assumes one record per physical line (true of the E2, ODS and INSEE exports): a quoted
    field holding a line break leaves unbalanced quotes on both lines, and both are rejected.
    """
    return join_delimited([split_delimited(text, sep, feed, file)], sep, feed, file)


def split_delimited(text: str, sep: str, feed: str, file: str) -> DelimitedLines:
    """The header and lines of ``text`` (:func:`read_delimited`), lines of a wrong field count rejected."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_line = lines[0]
    if not header_line.strip():
        raise SchemaError(feed, "no header on the first line", file=file, row=1)
    header = _header_of(header_line, sep)
    filled = pc.not_equal(pc.utf8_trim_whitespace(pa.array(lines[1:], pa.large_string())), "")
    at = np.flatnonzero(filled.to_numpy(zero_copy_only=False))
    numbers = at + 2
    body = [lines[i] for i in (at + 1).tolist()]
    unquoted = (pd.Series(body, dtype="str").str.replace(_QUOTED, "", regex=True).tolist() if '"' in text
                else body)
    width = len(header)
    fields = np.array([line.count(sep) + 1 for line in unquoted], dtype=np.int64)
    balanced = np.array(['"' not in line for line in unquoted], dtype=bool)
    good = (fields == width) & balanced
    wrong = np.flatnonzero(~good).tolist()
    reasons = [f"expected {width} fields, found {fields[i]}" if balanced[i] else "unbalanced quote" for i in wrong]
    rejects = reject_rows(feed, file, numbers[~good].tolist(), reasons, [body[i] for i in wrong])
    kept = [line for line, ok in zip(body, good.tolist(), strict=True) if ok]
    plain = len(sep) == 1 and '"' not in text and "\x00" not in text and len(set(header)) == width
    return DelimitedLines(header, kept, numbers[good], rejects, plain)


def join_delimited(parts: list[DelimitedLines], sep: str, feed: str, file: str) -> Delimited:
    """The rows of ``parts`` (files with the same header, ``file`` naming them in errors) as one :class:`Delimited`.

    Split on the separator in one pass when every part is :attr:`DelimitedLines.plain`, else
    read by ``read_csv`` part by part; the same text columns either way.
    """
    header = parts[0].header
    if any(part.header != header for part in parts):
        raise ValueError("join_delimited: the parts have different headers")
    width = len(header)
    kept = [line for part in parts for line in part.kept]
    numbers = np.concatenate([part.lines for part in parts])
    part_of = np.repeat(np.arange(len(parts)), [len(part.kept) for part in parts])
    rejects = concat_rejects(*(part.rejects for part in parts))
    if not kept:
        frame = pd.DataFrame({i: pd.Series(dtype=str) for i in range(width)})
        frame.columns = header
        frame = frame.apply(lambda col: col.str.strip())
    elif all(part.plain for part in parts):
        frame = _split_plain(kept, sep, header)
    else:
        frame = pd.concat([_read_csv(part.kept, sep, header, feed, file) for part in parts if part.kept],
                          ignore_index=True)
    return Delimited(header, frame.reset_index(drop=True), numbers, pd.Series(kept, dtype="str"), rejects, part_of)


def _read_csv(kept: list[str], sep: str, header: list[str], feed: str, file: str) -> pd.DataFrame:
    width = len(header)
    frame = pd.read_csv(io.StringIO("\n".join(kept)), sep=sep, header=None, names=list(range(width)),
                        dtype=str, keep_default_na=False, skip_blank_lines=False)
    if len(frame) != len(kept):
        raise SchemaError(feed, f"read {len(frame)} records from {len(kept)} lines", file=file)
    frame.columns = header
    return frame.apply(lambda col: col.str.strip())


def _split_plain(kept: list[str], sep: str, header: list[str]) -> pd.DataFrame:
    """The stripped text columns of ``kept`` lines of a plain file (:attr:`DelimitedLines.plain`).

    Each line holds exactly ``len(header)`` fields (checked before), so splitting on a
    one-character ``sep`` gives what the C parser reads; the strip is Arrow's, as
    pandas' ``str.strip``. The columns are cut from the cells as one Arrow table.
    """
    width = len(header)
    cells = pc.utf8_trim_whitespace(pa.array(sep.join(kept).split(sep), pa.large_string()))
    table = pa.table([cells.take(np.arange(i, len(cells), width)) for i in range(width)],
                     names=[str(i) for i in range(width)])
    frame = table.to_pandas(types_mapper=lambda _: _TEXT)
    frame.columns = header
    return frame


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


@lru_cache(maxsize=64)
def _header_fields(header_line: str, sep: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in next(iter(pd.read_csv(io.StringIO(header_line), sep=sep, header=None, dtype=str,
                                                          keep_default_na=False).itertuples(index=False))))


def _header_of(header_line: str, sep: str) -> list[str]:
    """The column labels of a header line, stripped (read once per distinct header)."""
    return list(_header_fields(header_line, sep))


def resolve_columns(header: list[str], wanted: dict[str, tuple[str, ...]], required: tuple[str, ...],
                    feed: str, file: str) -> dict[str, str | None]:
    """Map canonical keys to the file's column labels, matched case-insensitively among aliases."""
    by_label = {normalise_label(h): h for h in header}
    found = {key: next((by_label[normalise_label(a)] for a in aliases if normalise_label(a) in by_label), None)
             for key, aliases in wanted.items()}
    missing = [wanted[k][0] for k in required if found[k] is None]
    if missing:
        raise SchemaError(feed, f"header lacks the columns {missing}; found {header}", file=file, row=1)
    return found


def load_json(payload: bytes, feed: str, file: str) -> object:
    """The JSON document in ``payload``, bounded in depth.

    Refused (:class:`SchemaError`) when it is not JSON or nests arrays and objects deeper than
    the register's ``max_json_depth``.
    """
    text = decode_text(payload, feed, file, "JSON")
    limit = register.parameters().int("max_json_depth")
    depth = json_depth(text)
    if depth > limit:
        raise SchemaError(feed, f"JSON nested {depth} levels deep, over the limit of {limit} (max_json_depth)",
                          file=file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(feed, f"not JSON ({exc.msg} at column {exc.colno})", file=file, row=exc.lineno) from exc
    except RecursionError:
        raise SchemaError(feed, "JSON nested too deep for the parser", file=file) from None


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON ``text``, brackets inside strings not counted.

    Linear: strings are removed with one regular expression, then the running bracket
    balance is summed with numpy (no recursion, whatever the depth).
    """
    outside = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = outside.translate(None, _NOT_BRACKETS)
    step = _BRACKET_STEP[np.frombuffer(brackets, dtype=np.uint8)]
    return int(np.cumsum(step, dtype=np.int64).max(initial=0))


def as_records(value: object) -> list:
    """A JSON list of records; a single record (XML-to-JSON conversions do that) becomes a list of one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_NO_REJECTS = reject_rows("", "", [], [], [])


class RowChecks:
    """The first failing check of each row; failing rows go to quarantine with that reason."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)

    def fail(self, mask, reason) -> None:
        """Mark the rows of ``mask`` with ``reason`` (a text, or one text per row) unless already marked.

        ``reason`` may also be a function of no argument returning either: it is called only
        when some row is newly marked, so per-row texts are not built for a clean file.
        A per-row reason that is NULL (text concatenated with a missing value) still marks
        the row, so a missing detail never lets a bad row through; build details with
        :func:`as_text` to keep them.
        """
        mask = np.asarray(mask, dtype=bool) & pd.isna(self.reason)
        if not mask.any():
            return
        if callable(reason):
            reason = reason()
        if not isinstance(reason, str):
            reason = np.asarray(pd.Series(reason, dtype=object).to_numpy(), dtype=object)
            reason = np.where(pd.isna(reason), "failed a check (value missing)", reason)
        self.reason = np.where(mask, reason, self.reason)

    @property
    def bad(self) -> np.ndarray:
        return ~pd.isna(self.reason)

    def rejects(self, feed: str, file: str, rows, raw, among: np.ndarray | None = None) -> pd.DataFrame:
        """Quarantine rows of the failing rows (of those in ``among``, a mask, when given)."""
        bad = self.bad if among is None else self.bad & among
        if not bad.any():
            return _NO_REJECTS.copy()
        return reject_rows(feed, file, np.asarray(rows)[bad].tolist(), self.reason[bad].tolist(),
                           as_text(pd.Series(raw, dtype=object))[bad].tolist())

    def duplicated(self, frame: pd.DataFrame, key: list[str], what: str) -> None:
        """Reject rows repeating the key of an earlier row that passed the checks so far."""
        ok = ~self.bad
        dup = np.zeros(len(frame), dtype=bool)
        kept = frame[key[0] if len(key) == 1 else key]
        dup[ok] = (kept if ok.all() else kept[ok]).duplicated(keep="first").to_numpy()
        self.fail(dup, f"duplicate {what} of an earlier row")


def as_text(series: pd.Series) -> pd.Series:
    """Values as text for messages: NULL becomes ``(empty)``."""
    text = series.astype(object).where(series.notna(), "(empty)")
    return text.astype(str)


def numbers(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Floats of a text column, and a mask of the non-empty cells that are not numbers."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        return values, np.zeros(len(series), dtype=bool)
    if pd.api.types.is_string_dtype(series) and not pd.api.types.is_object_dtype(series):
        text = series.fillna("").str.strip()
    else:
        text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    try:
        values = text.where(text != "", None).astype("float64")
    except (ValueError, TypeError):
        # each number read as astype reads it, whatever the other cells: a file read alone or
        # among others (Source.parse_batch) gives the same values
        values = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        readable = values.notna()
        with contextlib.suppress(ValueError, TypeError):
            values[readable] = text[readable].astype("float64")
    return values, ((text != "") & values.isna()).to_numpy()


def check_year(checks: RowChecks, years: pd.Series, label: str = "ANNEE") -> None:
    """Fail the rows whose ``years`` (text) are not a 4-digit year, naming the column ``label``."""
    checks.fail(~years.str.fullmatch(r"\d{4}"), f"{label} is not a year: " + as_text(years))


def check_counts_of_residents(checks: RowChecks, counts_text: pd.Series, population_text: pd.Series,
                              label: str, events: str) -> tuple[pd.Series, pd.Series]:
    """Parse and check a count of events among residents (``DECES`` or ``CAS``) and the residents (``POP``).

    Fails a count that is missing, not a number or negative, a population that is not a
    positive number, and more events than residents. Returns the counts and the population
    as floats (NaN where unreadable).
    """
    counts, counts_bad = numbers(counts_text)
    population, population_bad = numbers(population_text)
    checks.fail(counts_bad | counts.isna().to_numpy() | (counts < 0).to_numpy(), f"{label} is not a count: "
                + counts_text)
    checks.fail(population_bad | ~(population > 0).to_numpy(), "POP is not a positive number: " + population_text)
    checks.fail((counts > population).to_numpy(), f"more {events} ({label}) than residents (POP)")
    return counts, population


def blank_to_null(series: pd.Series) -> pd.Series:
    """``series`` as objects, with ``None`` for missing values and texts that are blank once stripped."""
    text = series.astype(object)
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        blank = pc.equal(pc.utf8_trim_whitespace(pa.array(series)), "").fill_null(True)
        return text.where(~blank.to_numpy(zero_copy_only=False), None)
    return text.where(text.notna() & (text.astype(str).str.strip() != ""), None)


@dataclass
class GeoFeatures:
    """Features of a GeoJSON FeatureCollection: properties, geometries and their 1-based number."""

    properties: pd.DataFrame
    geometries: np.ndarray
    numbers: np.ndarray
    raw: list[str]
    crs: str


def read_geojson(payload: bytes, feed: str, file: str) -> GeoFeatures:
    """Parse a FeatureCollection; its ``crs`` member (old GeoJSON) is honoured, default WGS84."""
    import shapely

    doc = load_json(payload, feed, file)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise SchemaError(feed, "not a GeoJSON FeatureCollection", file=file)
    features = doc["features"]
    props = pd.DataFrame([f.get("properties") or {} if isinstance(f, dict) else {} for f in features])
    geojson = [json.dumps(f["geometry"]) if isinstance(f, dict) and f.get("geometry") else None for f in features]
    geoms = shapely.from_geojson(np.array(geojson, dtype=object), on_invalid="ignore")
    raw = [json.dumps(f.get("properties"), ensure_ascii=False) if isinstance(f, dict) else str(f) for f in features]
    return GeoFeatures(props.reset_index(drop=True), np.asarray(geoms, dtype=object),
                       np.arange(1, len(features) + 1), raw, _crs_of(doc))


def _crs_of(doc: dict) -> str:
    name = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
    match = re.search(r"EPSG:+(\d+)", name)
    if match and match.group(1) != "4326":
        return f"EPSG:{match.group(1)}"
    return "EPSG:4326"


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def polygon_problems(geoms: np.ndarray) -> np.ndarray:
    """Why each geometry is unusable as an area (``None`` when it is a valid polygon)."""
    import shapely

    present = ~shapely.is_missing(geoms)
    kinds = np.where(present, shapely.get_type_id(geoms), -1)
    polygonal = np.isin(kinds, (3, 6))
    valid = np.zeros(len(geoms), dtype=bool)
    valid[polygonal] = shapely.is_valid(geoms[polygonal]) & ~shapely.is_empty(geoms[polygonal])
    why = np.full(len(geoms), None, dtype=object)
    why[~present] = "missing or unreadable geometry"
    why[present & ~polygonal] = "geometry is not a Polygon or MultiPolygon"
    broken = polygonal & ~valid
    if broken.any():
        why[broken] = ["invalid geometry: " + r for r in shapely.is_valid_reason(geoms[broken])]
    return why


def to_3035_wkt(geoms: np.ndarray, src: str) -> np.ndarray:
    """WKT of ``geoms`` reprojected from ``src`` to ETRS89-LAEA (EPSG:3035), centimetre precision."""
    import shapely

    if not len(geoms):
        return np.array([], dtype=object)
    transformer = _transformer(src, "EPSG:3035")

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.to_wkt(shapely.transform(geoms, project), rounding_precision=2), dtype=object)


def conform(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """``frame`` with the schema's columns in order, text columns as pandas ``str``."""
    out = frame[list(columns)].reset_index(drop=True)
    for name, col in columns.items():
        if col.type == "VARCHAR" and out[name].dtype != "str":
            out[name] = out[name].astype("str")
    return out


def concat_rejects(*parts: pd.DataFrame) -> pd.DataFrame:
    kept = [p for p in parts if len(p)]
    return pd.concat(kept, ignore_index=True) if kept else parts[0]
