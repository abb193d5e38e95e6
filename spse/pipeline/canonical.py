"""The canonical datasets several sources feed, read as one: the union with the overlap rule.

Each producer writes its own partitions (``lake/<dataset>/source=<name>/<partition>/``,
:mod:`spse.pipeline.lake`); the rows carry the producer in ``source``. Reading a dataset here
gives the union of its producers, minus

* the producers replaced by another one present in the lake (``replaces`` in the registry:
  a stand-in hides the source it stands in for, e.g. ``insee_filosofi_zip``);
* the overlaps (:class:`spse.sources.registry.Overlap`, ``[datasets.<name>]`` in the
  registry): rows of two producers with the same key (the same station and hour) are the
  same observation; the producer first in the dataset's ``priority`` keeps all its rows of
  that key, the others' are returned by :func:`overlaps` (and in the warehouse,
  ``marts.air_hourly_overlaps``) for comparison.

Datasets without a ``[datasets]`` table (derived ones, one-producer ones) are read as the union.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spse.pipeline import lake
from spse.sources import registry


def rules() -> dict[str, registry.Overlap]:
    """The overlap rules of the registry (``[datasets.<name>]``), by dataset."""
    return registry.overlaps()


def rule(dataset: str) -> registry.Overlap | None:
    """The overlap rule of ``dataset``, ``None`` when the registry gives none."""
    return rules().get(dataset)


def hidden(dataset: str, present: list[str]) -> set[str]:
    """Producers among ``present`` that a producer also present stands in for (``replaces``)."""
    replaced = {e.name: set(e.replaces) for e in registry.entries()}
    return {name for source in present for name in replaced.get(source, set()) if name in present}


def ranks(dataset: str, names: list[str]) -> dict[str, int]:
    """Rank of each producer name in ``dataset``'s priority (0 wins; unlisted ones share the last rank)."""
    found = rule(dataset)
    return {n: found.rank(n) if found else 0 for n in names}


def split(dataset: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(kept, set aside)`` rows of ``frame`` (a union with ``source``) under ``dataset``'s overlap rule.

    For each key, the producer of lowest rank (then name) keeps every row it has of that
    key; the other producers' rows of that key are set aside. Without a rule, a ``source``
    column or a second producer, everything is kept.
    """
    found = rule(dataset)
    column = lake.SOURCE_COLUMN
    if found is None or frame.empty or column not in frame.columns or frame[column].nunique(dropna=False) < 2:
        return frame, frame.iloc[0:0]
    names = frame[column].astype("string")
    order = names.fillna("").map(ranks(dataset, names.dropna().unique().tolist())).astype("int64")
    order = order.where(names.notna(), order.max() + 1)  # rows of no known producer come last (SQL: nulls last)
    # one sortable label per producer: rank first, then the name
    label = order.astype(str).str.zfill(6) + "|" + names.fillna("")
    best = label.groupby([frame[k] for k in found.key], dropna=False).transform("min")
    keep = (label == best).to_numpy()
    return frame[keep].reset_index(drop=True), frame[~keep].reset_index(drop=True)


def _without_hidden(dataset: str, chosen: list[lake.Part]) -> list[lake.Part]:
    gone = hidden(dataset, sorted({p.source for p in chosen if p.source}))
    return [p for p in chosen if p.source not in gone]


def visible(dataset: str, producers: list[str | None]) -> list[str | None]:
    """``producers`` (of the files read) without those another one present stands in for (``replaces``)."""
    gone = hidden(dataset, sorted({p for p in producers if p}))
    return [p for p in producers if p not in gone]


def read_days(dataset: str, days: list[dt.date]) -> pd.DataFrame:
    """The ``date=`` partitions of ``days`` of every producer of ``dataset``, overlaps resolved."""
    chosen = [p for d in days for p in lake.parts(dataset, partition=lake.date_partition(d))]
    return split(dataset, lake.read_parts(_without_hidden(dataset, chosen)))[0]


def read_latest(dataset: str) -> pd.DataFrame:
    """The latest partition of each producer of ``dataset`` (reference: latest vintages), overlaps resolved.

    Raises ``FileNotFoundError`` naming the dataset when no producer has written it.
    """
    chosen = _without_hidden(dataset, lake.latest_parts(dataset))
    if not chosen:
        raise FileNotFoundError(f"lake dataset {dataset!r} has no partition under {lake.settings().lake}")
    return split(dataset, lake.read_parts(chosen))[0]


def overlaps(dataset: str, days: list[dt.date]) -> pd.DataFrame:
    """The rows of ``days`` that the overlap rule set aside (another producer had the same key)."""
    chosen = [p for d in days for p in lake.parts(dataset, partition=lake.date_partition(d))]
    return split(dataset, lake.read_parts(_without_hidden(dataset, chosen)))[1]


def files_sql(dataset: str, chosen: list[lake.Part], columns: str) -> str:
    """A DuckDB ``select`` of ``columns`` over the files of ``chosen``, overlaps resolved.

    For readers that scan many partitions in SQL (the period indicators): the producer of
    each file comes from its path (old-layout files: from the listing), the rule from the
    registry, as :func:`split`.
    """
    chosen = _without_hidden(dataset, chosen)
    listed = "[" + ", ".join(quote(str(p.path)) for p in chosen) + "]"
    source = source_sql([p for p in chosen if p.source], "filename")
    scan = f"select {columns}, {source} as source from read_parquet({listed}, union_by_name = true, filename = true)"
    return resolved_sql(dataset, scan, [p.source for p in chosen])


def resolved_sql(dataset: str, scan: str, producers: list[str | None]) -> str:
    """``scan`` (a ``select`` with a ``source`` column) without its ``source``, overlaps resolved.

    ``producers`` are those of the files ``scan`` reads (hidden ones already left out): with
    fewer than two, nothing overlaps and ``scan`` is returned as it is.
    """
    found = rule(dataset)
    if found is None or len(set(producers)) < 2:
        return scan
    rank = rank_sql(dataset, "source")
    keys = ", ".join(found.key)
    return (f"select * exclude (source) from ({scan}) qualify dense_rank() over (partition by {keys} "
            f"order by {rank}, source) = 1")


def source_sql(chosen: list[lake.Part], filename: str) -> str:
    """SQL naming each file's producer from ``filename``: its ``source=`` folder, or the listing (old layout)."""
    old = [p for p in chosen if not lake.in_producer_folder(p.path)]
    folder = f"nullif(regexp_extract({filename}, '/source=([^/]+)/', 1), '')"
    if not old:
        return folder
    # an old-layout file without a provenance naming its source has no known producer: NULL
    cases = " ".join(f"when {quote(str(p.path))} then {quote(p.source) if p.source else 'null'}" for p in old)
    return f"coalesce({folder}, case {filename} {cases} end)"


def rank_sql(dataset: str, column: str) -> str:
    """SQL giving the overlap rank of the producer in ``column`` (0 wins), from the registry's priority."""
    found = rule(dataset)
    if found is None or not found.priority:
        return "0"
    cases = " ".join(f"when {quote(n)} then {found.rank(n)}" for n in found.priority)
    return f"(case {column} {cases} else {len(found.priority)} end)"


def quote(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
