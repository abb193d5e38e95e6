"""## Strategic noise maps (CBS, Directive 2002/49/EC), type A exposure bands

* Provider: Bruitparif for the Métropole du Grand Paris / Ville de Paris, national
  COVADIS layers on data.gouv.fr / géo-IDE [R].
* Files: COVADIS layers `N_BRUIT_ZBRD_INFRA_R_A_LD_S_075` (road, type A, Lden, Paris)
  and `N_BRUIT_ZBRD_INFRA_R_A_LN_S_075` (Ln), exported as GeoJSON [R: layer names and
  attributes; no authentic Paris extract was seen].
* Licence: Licence Ouverte [R].
* Format: GeoJSON FeatureCollection in WGS84 (an old-style `crs` member, e.g. Lambert-93,
  is honoured); properties `idzonbruit, codinfra, legende, typesource (R/F/A/I),
  cbstype (A/C), indicetype (LD/LN), annee, codedept, typeterr` [R]. The EU reporting
  `category` (`Lden5559`, `LdenGreaterThan75`, `Lnight5054`, ...) is read when `legende`
  is absent [R].
* Time base: none (map round, partition `vintage=current`).
* Bands: arrêté du 4 avril 2006 art. 4-IV, [55;60[ ... [75;...[ for Lden and [50;55[ ...
  [70;...[ for Ln (methods.md §5.2). `db_low` is inclusive, `db_high` the exclusive upper
  bound (60 for "55-59" as for "55-60"), NULL for the open top band.
* Output geometry: ETRS89-LAEA (EPSG:3035) WKT. The quarantine's `row` is the 1-based
  feature number.

Quarantined features: unreadable band, unknown indicator or source type, a type C
(limit-exceedance) feature in a type A layer, missing/invalid/non-polygonal geometry,
repeated `idzonbruit`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import ClassVar

import numpy as np
import pandas as pd

from spse.core.columns import Column
from spse.sources._parsing import RowChecks, as_text, conform, polygon_problems, read_geojson, to_3035_wkt
from spse.sources.base import Measure, ParseResult, Partition, Source

LAYERS = ("N_BRUIT_ZBRD_INFRA_R_A_LD_S_075", "N_BRUIT_ZBRD_INFRA_R_A_LN_S_075")
INDICATORS = {"LD": "Lden", "LDEN": "Lden", "LN": "Ln", "LNIGHT": "Ln"}
SOURCE_TYPES = {"R": "road", "F": "rail", "A": "air", "I": "industry"}
# Width of a reporting band [dB(A)]: "55-59" (END, integer dB) and "55-60" name the same band.
BAND_WIDTH_DB = 5.0

_OPEN_TOP = re.compile(r"(>|≥|greaterthan|plus|sup|au-dessus|\[\s*\d+(?:[.,]\d+)?\s*;\s*(?:\.\.\.|…)?\s*\[?$)",
                       re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CATEGORY = re.compile(r"^(?:Lden|Lnight)(\d{2})(\d{2})$|^(?:Lden|Lnight)GreaterThan(\d{2})$", re.IGNORECASE)


def parse_band(label: str) -> tuple[float, float] | None:
    """(db_low, db_high) of a band label; db_high is NaN for the open top band, None if unreadable.

    Accepts "55-60", "55-59", "[55;60[", "55 à 60 dB(A)", ">= 75", "75 et plus",
    "Lden5559", "LdenGreaterThan75", "Lnight5054".
    """
    text = str(label).strip()
    category = _CATEGORY.match(text)
    if category:
        if category.group(3):
            return float(category.group(3)), np.nan
        low, high = float(category.group(1)), float(category.group(2))
        return (low, low + BAND_WIDTH_DB) if high - low == BAND_WIDTH_DB - 1 else (low, high)
    values = [float(v.replace(",", ".")) for v in _NUMBER.findall(text.replace("dB(A)", "").replace("dBA", ""))]
    if len(values) == 1 and _OPEN_TOP.search(text):
        return values[0], np.nan
    if len(values) == 2 and values[1] > values[0]:
        low, high = values
        if BAND_WIDTH_DB - 1 <= high - low < BAND_WIDTH_DB:
            high = low + BAND_WIDTH_DB
        return low, high
    return None


class NoiseMapCbs(Source):
    """Source ``noise_map_cbs``: strategic noise map bands of Paris roads, Lden and Lnight [dB(A)]."""

    name = "noise_map_cbs"
    dataset = "noise_map_bands"
    kind = "reference"
    cadence = "reference"
    schedule = "0 5 1 * *"
    max_age_hours = 768  # monthly schedule, one day of slack
    description = "Strategic noise map (CBS) type A bands, Lden and Ln, as polygons in EPSG:3035"
    columns: ClassVar[dict[str, Column]] = {
        "band_id": Column("VARCHAR", "", "Polygon id: '<source_type>:<indicator>:<idzonbruit>' (feature number "
                          "when idzonbruit is empty)", nullable=False),
        "indicator": Column("VARCHAR", "", "Lden or Ln (indicetype LD/LN, or the EU category)", nullable=False),
        "source_type": Column("VARCHAR", "", "road, rail, air or industry (typesource R/F/A/I)", nullable=False),
        "db_low": Column("DOUBLE", "dB(A)", "Lower bound of the band, inclusive", nullable=False),
        "db_high": Column("DOUBLE", "dB(A)", "Upper bound of the band, exclusive; NULL for the open top band"),
        "label": Column("VARCHAR", "", "Band label as published (legende or category)"),
        "geometry_wkt": Column("VARCHAR", "WKT, EPSG:3035 (m)", "Band polygon in ETRS89-LAEA", nullable=False),
    }
    primary_key = ("band_id",)
    measures = (Measure(("db_low", "db_high"), quantity_column="indicator", unit="dB(A)"),)

    def files(self, day: dt.date) -> list[str]:
        """The two GeoJSON layers, Lden (``LD``) and Lnight (``LN``), of Paris (075)."""
        return [f"{layer}.geojson" for layer in LAYERS]

    def parse(self, payload: bytes, filename: str, partition: Partition) -> ParseResult:
        """Band polygons of one layer in the ``noise_map_bands`` schema (dB(A), EPSG:3035)."""
        features = read_geojson(payload, self.name, filename)
        props = features.properties.reindex(columns=["idzonbruit", "legende", "category", "typesource", "cbstype",
                                                     "indicetype"])
        layer = PurePosixPath(filename).stem.upper()
        label = props["legende"].where(props["legende"].notna() & (props["legende"].astype(str).str.strip() != ""),
                                       props["category"])
        known = {v: parse_band(v) for v in pd.unique(label.dropna())}
        low = label.map({v: b[0] for v, b in known.items() if b}).astype(float)
        high = label.map({v: b[1] for v, b in known.items() if b}).astype(float)
        readable = label.map({v: b is not None for v, b in known.items()}).fillna(False).astype(bool).to_numpy()
        indicator = _indicator(props, layer)
        typesource = _text(props["typesource"]).str.upper()
        source_type = typesource.map(SOURCE_TYPES)
        from_layer = re.search(r"INFRA_([RFAI])_", layer)
        if from_layer:
            source_type = source_type.where(typesource != "", SOURCE_TYPES[from_layer.group(1)])
        checks = RowChecks(len(props))
        checks.fail(~readable, "unreadable band label: " + as_text(label))
        checks.fail(indicator.isna(), "unknown indicator (indicetype/category): " + as_text(props["indicetype"]))
        checks.fail(source_type.isna(), "unknown source type (typesource): " + as_text(props["typesource"]))
        checks.fail(_text(props["cbstype"]).str.upper().isin(["B", "C", "D"]),
                    "not a type A exposure band (cbstype " + as_text(props["cbstype"]) + ")")
        why = polygon_problems(features.geometries)
        checks.fail(pd.notna(why), why)
        zone = _text(props["idzonbruit"])
        zone = zone.where(zone != "", pd.Series(features.numbers, index=zone.index).astype(str).radd("#"))
        out = pd.DataFrame({"band_id": source_type.astype(str) + ":" + indicator.astype(str) + ":" + zone,
                            "indicator": indicator, "source_type": source_type, "db_low": low, "db_high": high,
                            "label": label.astype(object).where(label.notna(), None)})
        checks.duplicated(out, ["band_id"], "idzonbruit")
        good = ~checks.bad
        out["geometry_wkt"] = None
        out.loc[good, "geometry_wkt"] = to_3035_wkt(features.geometries[good], features.crs)
        rejects = checks.rejects(self.name, filename, features.numbers, features.raw)
        return ParseResult(conform(out.loc[good], self.columns), rejects)


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _indicator(props: pd.DataFrame, layer: str) -> pd.Series:
    """Lden/Ln from indicetype, else from the EU category prefix, else from the layer name."""
    indicator = _text(props["indicetype"]).str.upper().map(INDICATORS)
    category = _text(props["category"]).str.extract(r"^(Lden|Lnight)", flags=re.IGNORECASE)[0].str.upper()
    indicator = indicator.fillna(category.map(INDICATORS))
    from_layer = re.search(r"_(LD|LN)_", layer)
    return indicator.fillna(INDICATORS[from_layer.group(1)]) if from_layer else indicator


SOURCE = NoiseMapCbs()
