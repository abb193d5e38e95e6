"""## INSEE Filosofi gridded population, 200 m cells, read from INSEE's ZIP archive

* Provider: INSEE, Filosofi "données carroyées" (2015: insee.fr/fr/statistiques/4176290,
  2017: /6215217, 2019: /7655515, 2021: a newer release [R]).
* URL: set `SPSE_INSEE_FILOSOFI_ZIP_URL` to the archive's full URL (e.g.
  `https://www.insee.fr/fr/statistiques/fichier/6215217/Filosofi2017_carreaux_200m_csv.zip`):
  the file name is taken from it. A folder URL gets :attr:`InseeFilosofiZip.archive` appended.
* Licence: Licence Ouverte / Etalab [M]; cite "Insee, Filosofi 20XX".
* Format: a ZIP of several hundred MB holding one CSV per territory: metropolitan France
  (`Filosofi2017_carreaux_200m_met.csv`; `carreaux_200m_met.csv` in the 2019 archive [R]),
  Martinique and Réunion. The metropolitan member is picked by name
  (:data:`METROPOLITAN_MEMBER`); a nested `.zip` is opened, a nested `.7z` is refused
  (no 7z reader among the dependencies).
* Size: the archive is fetched whole by `spse.pipeline.ingest`, under :attr:`InseeFilosofiZip.max_bytes`
  (2 GiB) and :attr:`InseeFilosofiZip.fetch_deadline_s` (2 h). The member (and a nested
  archive) is decompressed under :attr:`InseeFilosofiZip.max_decompressed_bytes` (4 GiB) and
  the register's `max_compression_ratio`, on the declared size and while reading
  (:mod:`spse.sources._bounded`): a ZIP bomb is refused with the member and the cap named.
* CRS: ETRS89-LAEA (EPSG:3035); the cell id gives the south-west corner [V].
* Time base: none (reference year of the vintage; partition `vintage=current`).
* Selection: Paris cells only. When the file has `lcog_geo` (2017, 2019: the communes the
  cell touches, 5-character codes run together [R]) or `Depcom` (2015), a cell is kept when
  one of its codes is Paris (`75056` or an arrondissement `75101`–`75120`), so cells cut by
  the city boundary are kept. Otherwise the cell is kept when it lies in the EPSG:3035
  box given to the constructor (default :data:`PARIS_BBOX_3035`).
* Streaming: the member is decompressed and scanned in blocks of lines
  (:attr:`InseeFilosofiZip.block_bytes`), each block filtered with vectorised pandas string
  operations; only Paris lines are kept.
  ``pandas.read_csv(chunksize=…)`` is not used because its C parser either stops at a
  malformed line or skips it silently, losing the line numbers the quarantine needs.
* Columns: the kept lines are parsed by the plain-CSV source
  (:mod:`spse.sources.insee_filosofi_200m`), so both sources share one column mapping,
  derived columns, checks and schema.

**Same dataset as the plain-CSV source.** Both write `population`, partition
`vintage=current`: they are two ways of reading the same INSEE product, and only one is
configured in production. This one is optional (the daily demo run skips it unless
`SPSE_INSEE_FILOSOFI_ZIP_URL` is set); the last one ingested wins.

Quarantined lines (`file` = `<archive>/<member>`, `row` = line number in the member,
header = 1): those of :mod:`spse.sources.insee_filosofi_200m` (wrong field count, bad id,
non-numeric or negative counts, repeated id) among the Paris lines; lines elsewhere are out
of scope and not inspected.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from typing import ClassVar
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.core.config import source_base_url
from spse.core.errors import SchemaError
from spse.sources import insee_filosofi_200m as plain
from spse.sources._bounded import ZIP_MAGIC, open_member, open_zip, read_member
from spse.sources._parsing import reject_non_data, resolve_columns
from spse.sources.base import ParseResult, Partition, Source

# Extent of Paris (20 arrondissements, Bois de Boulogne and de Vincennes included) in
# EPSG:3035, (x_min, y_min, x_max, y_max) [m]: the bounds of the opendata.paris.fr
# `arrondissements` polygons projected with pyproj (x 3 751 395–3 769 124,
# y 2 884 298–2 894 615), widened to whole 200 m cells.
PARIS_BBOX_3035 = (3_751_200.0, 2_884_200.0, 3_769_200.0, 2_894_800.0)

METROPOLITAN_MEMBER = re.compile(r"(?:^|/)(?:filosofi\d{4}_)?carreaux_200m_met(?:ropole)?\.csv$", re.IGNORECASE)
NESTED_ARCHIVE = re.compile(r"carreaux_200m[^/]*\.(zip|7z)$", re.IGNORECASE)
GEO_FIELDS = {"id": plain.FIELDS["id"], "communes": ("lcog_geo", "depcom")}
PARIS_CODE = r"(?:751(?:0[1-9]|1\d|20)|75056)"
CELL_CORNER = r"CRS3035RES200mN(\d+)E(\d+)"


class InseeFilosofiZip(Source):
    """Source ``insee_filosofi_zip``: Filosofi 200 m population grid, read from INSEE's ZIP archive."""

    name = "insee_filosofi_zip"
    dataset = "population"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    optional = True
    replaces = ("insee_filosofi_200m",)
    max_bytes = 2 * 1024**3  # the national archives are several hundred MB
    fetch_deadline_s = 2 * 3600.0  # 2 GiB at about 2.5 Mbit/s
    max_decompressed_bytes = 4 * 1024**3  # the metropolitan CSV is about 1 GB, twice that in later vintages
    description = "INSEE Filosofi 200 m gridded population read from INSEE's ZIP archive, Paris cells (EPSG:3035)"
    columns: ClassVar[dict[str, Column]] = plain.InseeFilosofi200m.columns
    primary_key = plain.InseeFilosofi200m.primary_key
    measures = plain.InseeFilosofi200m.measures

    def __init__(self, archive: str = "Filosofi2019_carreaux_200m_csv.zip",
                 bbox_3035: tuple[float, float, float, float] = PARIS_BBOX_3035,
                 block_bytes: int = 16 * 1024 * 1024) -> None:
        """Set how the archive is found and read.

        ``archive``: file name under a folder URL; ``bbox_3035``: Paris box [m] used without
        ``lcog_geo``/``Depcom``; ``block_bytes``: decompressed text read per block [bytes].
        """
        self.archive = archive
        self.bbox_3035 = bbox_3035
        self.block_bytes = block_bytes

    def files(self, day: dt.date) -> list[str]:
        """The archive's file name: taken from the configured URL when it names a ``.zip``, else :attr:`archive`."""
        path = urlsplit(source_base_url(self.name)).path
        return [path.rsplit("/", 1)[-1]] if path.lower().endswith(".zip") else [self.archive]

    def url_for(self, base: str, relative: str) -> str:
        """The configured URL itself when it names the archive, else ``relative`` under it."""
        return base if urlsplit(base).path.lower().endswith(".zip") else super().url_for(base, relative)

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Paris cells of the archive's metropolitan CSV in the ``population`` schema (EPSG:3035 m, persons).

        The member is decompressed under :attr:`max_decompressed_bytes` and the register's
        ``max_compression_ratio`` (:mod:`spse.sources._bounded`).
        """
        archive = _open_zip(payload, self.name, filename)
        member_archive, member, holder = _metropolitan_member(archive, self.name, filename,
                                                              cap=self.max_decompressed_bytes)
        where = f"{filename}/{member}"
        try:
            with open_member(member_archive, member, self.name, holder, self.max_decompressed_bytes) as raw:
                stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                header, lines, numbers = self._paris_lines(stream, where)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise SchemaError(self.name, f"damaged or truncated member {member} ({exc})", file=filename) from exc
        except UnicodeDecodeError as exc:
            raise SchemaError(self.name, f"member {member} is not UTF-8 text ({exc.reason})", file=filename) from exc
        if not len(lines):
            raise SchemaError(self.name, f"no Paris cell in {member}: wrong file or wrong bounding box", file=filename)
        text = header + "\n" + "\n".join(lines)
        result = plain.SOURCE.parse(text.encode("utf-8"), where, partition)
        rejects = result.rejects.copy()
        if len(rejects):
            rejects["row"] = numbers[rejects["row"].to_numpy(dtype=np.int64) - 2]
            rejects["source"] = self.name
            rejects["file"] = where
        return ParseResult(result.frame, rejects)

    def _paris_lines(self, stream: io.TextIOWrapper, where: str) -> tuple[str, list[str], np.ndarray]:
        """The header, the Paris lines of ``stream`` and their line numbers (header = 1).

        Lines outside Paris are not inspected further: a malformed one there is out of scope.
        """
        header = stream.readline().rstrip("\r\n")
        sep = ";" if header.count(";") > header.count(",") else ","
        names = [h.strip().strip('"') for h in header.split(sep)]
        cols = resolve_columns(names, GEO_FIELDS, ("id",), self.name, where)
        if cols["communes"] is not None:
            position = names.index(cols["communes"])
            field = re.escape(sep)
            pattern = rf'^(?:[^{field}]*{field}){{{position}}}"?(?:[0-9AB]{{5}})*?{PARIS_CODE}'
        kept, numbers, line_no = [], [], 1
        while block := stream.readlines(self.block_bytes):
            text = pd.Series(block, dtype=object)
            number = np.arange(line_no + 1, line_no + 1 + len(text))
            line_no += len(text)
            if cols["communes"] is not None:
                # A plain substring test first, so the anchored pattern runs on few lines.
                paris = np.array(text.str.contains("7505", regex=False) | text.str.contains("751", regex=False))
                paris[paris] = text[paris].str.contains(pattern, regex=True).to_numpy()
            else:
                corner = text.str.extract(CELL_CORNER).astype(float)
                paris = self._cell_in_bbox(corner[1].to_numpy(), corner[0].to_numpy())
            kept.extend(text[paris].str.rstrip("\r\n").tolist())
            numbers.append(number[paris])
        return header, kept, np.concatenate(numbers) if numbers else np.array([], dtype=np.int64)

    def _cell_in_bbox(self, x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
        """Cells with south-west corner (x0, y0) [m] that overlap the box."""
        x_min, y_min, x_max, y_max = self.bbox_3035
        size = plain.CELL_SIZE_M
        with np.errstate(invalid="ignore"):
            return (x0 + size > x_min) & (x0 < x_max) & (y0 + size > y_min) & (y0 < y_max)


def _open_zip(payload: bytes, feed: str, filename: str) -> zipfile.ZipFile:
    if not payload.startswith(ZIP_MAGIC):
        reject_non_data(payload, feed, filename, "ZIP")
    return open_zip(payload, feed, filename)


def _metropolitan_member(archive: zipfile.ZipFile, feed: str, filename: str, depth: int = 0,
                         cap: int | None = None) -> tuple[zipfile.ZipFile, str, str]:
    """The archive holding the metropolitan CSV, its member name, and the archive's name for messages."""
    names = archive.namelist()
    found = [n for n in names if METROPOLITAN_MEMBER.search(n)]
    if len(found) == 1:
        return archive, found[0], filename
    if len(found) > 1:
        raise SchemaError(feed, f"several metropolitan CSV members: {found}", file=filename)
    nested = [n for n in names if NESTED_ARCHIVE.search(n) and re.search(r"_met", n, re.IGNORECASE)]
    if nested and depth == 0:
        if nested[0].lower().endswith(".7z"):
            raise SchemaError(feed, f"the metropolitan CSV is inside the 7z archive {nested[0]}, which "
                              "spse cannot open (no 7z reader): unpack it and use insee_filosofi_200m", file=filename)
        inner = open_zip(read_member(archive, nested[0], feed, filename, cap), feed, f"{filename}/{nested[0]}")
        return _metropolitan_member(inner, feed, f"{filename}/{nested[0]}", depth + 1, cap)
    raise SchemaError(feed, f"no metropolitan 200 m CSV (…carreaux_200m_met.csv) among the members {names[:20]}",
                      file=filename)


SOURCE = InseeFilosofiZip()
