"""Health recommendations per level, from ``spse/registers/recommendations.csv``.

Columns: ``level`` (a threshold level; ``closed`` for the end of an episode, ``data_quality``),
``pollutant`` (``*`` = any), ``audience`` (``vulnerable``, ``general``, ``facilities``),
``message`` (French, paraphrasing the annex of the arrêté du 20 août 2014 modified on 13 March
2018 as relayed locally; not verbatim), ``status`` (C2/U as in methods.md) and ``reference``.
A row of level ``alerte`` also applies to the finer levels ``alerte_<...>`` (e.g. the ozone
progressive-measures levels ``alerte_mesures_1``). ``SPSE_RECOMMENDATIONS_FILE`` points at a
corrected copy. Reference: methods.md §8.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from spse.core import config

AUDIENCES = {"vulnerable": "Personnes vulnérables et sensibles", "general": "Population générale",
             "facilities": "Établissements sensibles"}
COLUMNS = ["level", "pollutant", "audience", "message", "status", "reference"]
_DEFAULT = Path(__file__).resolve().parents[2] / "registers" / "recommendations.csv"


def recommendations() -> pd.DataFrame:
    """Every recommendation row, in register order."""
    return _read(str(config.register_file("recommendations") or _DEFAULT)).copy()


@lru_cache(maxsize=4)
def _read(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"recommendations register {path}: missing columns {missing}")
    unknown = frame.index[~frame["audience"].isin(list(AUDIENCES))]
    if len(unknown):
        row = int(unknown[0])
        raise ValueError(f"recommendations register {path}, row {row + 2}: audience "
                         f"{frame.at[row, 'audience']!r} is not one of {sorted(AUDIENCES)}")
    return frame[COLUMNS]


def messages_for(register: pd.DataFrame, level: str, pollutant: str) -> pd.DataFrame:
    """Rows that apply to ``level`` and ``pollutant``, grouped by audience in a fixed order."""
    applies = (register["level"] == level) | register["level"].map(lambda lv: level.startswith(f"{lv}_"))
    rows = register[applies & register["pollutant"].isin(["*", pollutant])]
    order = rows["audience"].map({a: i for i, a in enumerate(AUDIENCES)})
    return rows.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order")


def recommendation_text(register: pd.DataFrame, level: str, pollutant: str,
                        audiences: tuple[str, ...] | None = None) -> str:
    """Return the alert's text: its level's messages, one paragraph per audience (only ``audiences`` if given).

    The rows of :func:`messages_for`, walked as records (the register has a few dozen rows).
    """
    order = {audience: i for i, audience in enumerate(AUDIENCES)}
    rows = [row for row in register[["level", "pollutant", "audience", "message"]].to_dict("records")
            if (row["level"] == level or level.startswith(f"{row['level']}_")) and row["pollutant"] in ("*", pollutant)
            and (audiences is None or row["audience"] in audiences)]
    paragraphs: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda row: order.get(row["audience"], len(order))):
        paragraphs.setdefault(row["audience"], []).append(row["message"])
    return "\n".join(f"{AUDIENCES[audience]} : {' '.join(messages)}" for audience, messages in paragraphs.items())
