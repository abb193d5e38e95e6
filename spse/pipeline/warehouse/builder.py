"""Build a new warehouse file from the lake, the registers and the SQL models.

DuckDB allows one writing process per file, so ingest tasks write only Parquet lake
partitions, and each daily run builds a fresh file under ``warehouse/build/``; nothing
ever writes into the published file (:func:`spse.pipeline.warehouse.publish` swaps it in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path

import duckdb
import pandas as pd

from spse.core import lake, register
from spse.core.config import settings
from spse.core.errors import WarehouseError
from spse.pipeline.warehouse import models
from spse.pipeline.warehouse.models import REGISTER_TABLES, Model
from spse.pipeline.warehouse.schemas import EMPTY_SCHEMAS

log = logging.getLogger(__name__)

SUPPORTED_COMPARISONS = (">", ">=")


def build_dir() -> Path:
    """Folder where new warehouse files are built before :func:`spse.pipeline.warehouse.publish` moves one in."""
    return settings().warehouse_dir / "build"


def build(day: dt.date | None = None, *, sql_dir: Path | None = None) -> Path:
    """Build a complete warehouse file and return its path (not yet published).

    Creates ``warehouse/build/spse-<UTC timestamp>-<pid>.duckdb`` with: schema ``lake``
    (one view per lake dataset; reference datasets read only their latest ``vintage=``),
    the register tables ``marts.thresholds`` and ``marts.parameters``, the models of
    ``sql/staging``, ``sql/intermediate`` (views) and ``sql/marts`` (tables), a
    ``COMMENT ON`` for every model and column (``"<description> [<unit>]"``), and
    ``meta.build_info`` / ``meta.lake_partitions`` (provenance). ``day`` is the local day
    (Europe/Paris) the run reports on; it is recorded, the marts cover every day in the lake.
    ``build_info.build_started_utc`` (taken before the lake is read) and ``lake_state_sha256``
    tell which of two builds saw the newer lake: publish never replaces a later one.

    Raises :class:`WarehouseError` naming the dataset, register row or model that failed;
    the failed file stays in ``warehouse/build/`` for inspection and nothing is published.
    """
    from spse.pipeline.warehouse.publisher import prune_builds

    started = dt.datetime.now(dt.UTC)
    root = sql_dir or models.sql_dir()
    found = models.discover(root)
    folder = build_dir()
    folder.mkdir(parents=True, exist_ok=True)
    prune_builds()
    stamp = started.strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"spse-{stamp}-{os.getpid()}.duckdb"
    con = duckdb.connect(str(path))
    try:
        for schema in ("lake", *models.LAYERS, "meta"):
            con.execute(f"create schema {schema}")
        partitions = create_lake_views(con)
        files = create_register_tables(con)
        for index, model in enumerate(found):
            run_model(con, model, {m.qualified for m in found[:index]})
        document(con, root, found)
        write_meta(con, day, root, files, partitions, len(found), started=started, build_name=path.name)
        con.execute("checkpoint")
    except WarehouseError:
        raise
    except duckdb.Error as exc:
        raise WarehouseError(f"warehouse build {path}: {exc}") from exc
    finally:
        con.close()
    log.info("warehouse built: %s (%d models)", path, len(found))
    return path


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_lake_views(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One ``lake.<dataset>`` view per dataset; empty typed views for the missing ones.

    Returns the partitions read (dataset, partition, path).
    """
    root = settings().lake
    present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []
    read = []
    for dataset in present:
        latest = lake.latest_partition(dataset)
        if latest is None:
            continue
        if latest.startswith("vintage="):
            chosen = [latest]
            pattern = lake.partition_path(dataset, latest)
            con.execute(f"create view lake.{dataset} as select * from read_parquet({_sql_string(str(pattern))}, "
                        "hive_partitioning = true, union_by_name = true)")
        else:
            chosen = [p for p in lake.partitions(dataset) if p.startswith("date=")]
            _create_daily_view(con, dataset, root / dataset / "date=*" / "data.parquet")
        _check_lake_columns(con, dataset, lake.partition_path(dataset, chosen[-1]))
        con.execute(f"comment on view lake.{dataset} is "
                    f"{_sql_string(f'Lake dataset {dataset}: {len(chosen)} partition(s) read, last {chosen[-1]}')}")
        read += [(dataset, p, str(lake.partition_path(dataset, p))) for p in chosen]
    for dataset, schema in EMPTY_SCHEMAS.items():
        if dataset in present and lake.latest_partition(dataset):
            continue
        columns = ", ".join(f"cast(null as {t}) as {c}" for c, t in schema.view_columns().items())
        con.execute(f"create view lake.{dataset} as select {columns} limit 0")
        con.execute(f"comment on view lake.{dataset} is "
                    f"{_sql_string(f'Lake dataset {dataset}: absent from the lake, empty view')}")
    return pd.DataFrame(read, columns=["dataset", "partition", "path"])


def _create_daily_view(con: duckdb.DuckDBPyConnection, dataset: str, pattern: Path) -> None:
    """``lake.<dataset>`` over its ``date=`` partitions, with the partition as ``partition_date``.

    A file's own ``date`` column wins over the partition's (hive partitioning would hide it:
    a forecast or forecast alert is about another day than the run that wrote it); files
    without one get ``date`` = ``partition_date``.
    """
    source = (f"read_parquet({_sql_string(str(pattern))}, hive_partitioning = false, union_by_name = true, "
              "filename = true)")
    partition = r"cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date)"
    columns = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
    own_date = "" if "date" in columns else f", {partition} as date"
    con.execute(f"create view lake.{dataset} as select * exclude (filename), {partition} as partition_date"
                f"{own_date} from {source}")


def _check_lake_columns(con: duckdb.DuckDBPyConnection, dataset: str, example: Path) -> None:
    schema = EMPTY_SCHEMAS.get(dataset)
    if schema is None:
        return
    actual = {row[0] for row in con.execute(f"describe lake.{dataset}").fetchall()}
    missing = [c for c in schema.view_columns() if c not in actual]
    if missing:
        raise WarehouseError(f"lake dataset {dataset} (e.g. file {example}) lacks the columns {missing} "
                             "of its contract in docs/architecture.md")


def create_register_tables(con: duckdb.DuckDBPyConnection) -> dict[str, Path]:
    """``marts.thresholds`` and ``marts.parameters`` from :mod:`spse.core.register`, with status and reference."""
    thresholds_file = register.files()["thresholds"]
    parameters_file = register.files()["parameters"]
    thresholds = register.thresholds()
    bad = ~thresholds["comparison"].isin(SUPPORTED_COMPARISONS)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise WarehouseError(f"thresholds register {thresholds_file}, row {row + 2}: comparison "
                             f"{thresholds['comparison'].iloc[row]!r} is not one of {SUPPORTED_COMPARISONS}")
    con.register("register_thresholds", thresholds)
    con.execute("""
        create table marts.thresholds as
        select set_id, pollutant, nullif(noise_source, '') as noise_source, averaging, value, unit, level,
            consecutive_periods, allowed_exceedances, comparison, status, reference
        from register_thresholds""")
    con.unregister("register_thresholds")
    con.register("register_parameters", register.parameters_frame())
    con.execute("""
        create table marts.parameters as
        select name, value, nullif(unit, '') as unit, status, reference, description
        from register_parameters""")
    con.unregister("register_parameters")
    return {"thresholds": thresholds_file, "parameters": parameters_file}


def run_model(con: duckdb.DuckDBPyConnection, model: Model, earlier: set[str]) -> None:
    """Build ``model`` on ``con`` after checking its references against the ``earlier`` models.

    Raises :class:`WarehouseError` naming the model and its file when DuckDB refuses the statement.
    """
    models.check_references(model, earlier)
    try:
        con.execute(model.statement())
    except duckdb.Error as exc:
        raise WarehouseError(f"{model.label} failed: {exc}") from exc


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute("select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                       "order by column_index", [schema, table]).fetchall()
    return [r[0] for r in rows]


def document(con: duckdb.DuckDBPyConnection, root: Path, found: list[Model]) -> None:
    """``COMMENT ON`` every model and register table and their columns, from the sidecars."""
    targets = [(m.layer, m.name, m.path.with_suffix(".yml"), m.label) for m in found]
    targets += [("marts", t, root / "marts" / f"{t}.yml", f"register table marts.{t}") for t in REGISTER_TABLES]
    built = {(layer, name) for layer, name, _, _ in targets}
    for layer in models.LAYERS:
        for extra in sorted((root / layer).glob("*.yml")):
            if (layer, extra.stem) not in built:
                raise WarehouseError(f"sidecar {extra} documents no model (no {extra.with_suffix('.sql').name})")
    for layer, name, sidecar_path, label in targets:
        sidecar = models.load_sidecar(sidecar_path, label)
        models.check_columns(sidecar, _columns(con, layer, name), label)
        kind = "table" if layer == "marts" else "view"
        con.execute(f"comment on {kind} {layer}.{name} is {_sql_string(sidecar.description)}")
        for column in sidecar.columns:
            con.execute(f"comment on column {layer}.{name}.{column} is {_sql_string(sidecar.comment(column))}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_meta(con: duckdb.DuckDBPyConnection, day: dt.date | None, root: Path, files: dict[str, Path],
               partitions: pd.DataFrame, n_models: int, *, started: dt.datetime | None = None,
               build_name: str | None = None) -> None:
    """Provenance: what this file was built from.

    ``meta.build_info`` is written last: a file without it is an incomplete build and
    :func:`spse.pipeline.warehouse.publish` refuses it.

    ``build_started_utc`` is ``started`` (default: now); ``lake_state_sha256`` the SHA-256 of the
    sorted ``dataset/partition size mtime_ns`` lines of the partitions read, and
    ``lake_modified_max_utc`` the newest of their modification times; ``build_name`` the build
    file's name (a retried publish recognises its build already published).
    """
    provenance = [_provenance(Path(p)) for p in partitions["path"]]
    stats = [Path(p).stat() for p in partitions["path"]]
    partitions = partitions.assign(
        size_bytes=[st.st_size for st in stats],
        modified_utc=pd.to_datetime([st.st_mtime for st in stats], unit="s", utc=True),
        provenance_json=pd.Series(provenance, dtype="object"),
    )
    con.register("lake_partitions", partitions)
    con.execute("create table meta.lake_partitions as select * from lake_partitions")
    con.unregister("lake_partitions")
    state = "\n".join(sorted(f"{d}/{p} {st.st_size} {st.st_mtime_ns}" for d, p, st in
                             zip(partitions["dataset"], partitions["partition"], stats, strict=True)))
    info = pd.DataFrame([{
        "built_at_utc": pd.Timestamp.now(tz="UTC"),
        "build_started_utc": pd.Timestamp(started or dt.datetime.now(dt.UTC)),
        "build_name": build_name,
        "lake_state_sha256": hashlib.sha256(state.encode()).hexdigest(),
        "lake_modified_max_utc": partitions["modified_utc"].max() if len(partitions) else pd.NaT,
        "target_day": day,
        "duckdb_version": duckdb.__version__,
        "sql_dir": str(root),
        "n_models": n_models,
        "thresholds_file": str(files["thresholds"]),
        "thresholds_sha256": _sha256(files["thresholds"]),
        "parameters_file": str(files["parameters"]),
        "parameters_sha256": _sha256(files["parameters"]),
    }])
    con.register("build_info", info)
    con.execute("create table meta.build_info as select * replace (cast(target_day as date) as target_day) "
                "from build_info")
    con.unregister("build_info")


def _provenance(partition_file: Path) -> str | None:
    """The partition's ``provenance.json``, credentials removed from its URLs (older files may hold them)."""
    from spse.core.redaction import redact_url

    path = partition_file.with_name("provenance.json")
    if not path.exists():
        return None
    return redact_url(json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False))
