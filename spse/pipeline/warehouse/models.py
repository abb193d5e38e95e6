"""The SQL models under ``sql/``: discovery, layer rule and YAML sidecars.

A model is ``sql/<layer>/<name>.sql`` (one ``select``) with ``sql/<layer>/<name>.yml``::

    description: One row per <grain>. <what it is, method reference>
    materialized: incremental   # optional: marts table (default) or incremental;
    partition_by: date          # staging and intermediate view (default) or table
                                # with incremental: the day column rebuilt per changed day
    columns:
      <column>: {description: <definition>, unit: <unit, "-" when dimensionless or an identifier>}

Layers run in order: ``staging`` (views over ``lake``), ``intermediate`` (views, or tables
computed once per build), ``marts`` (tables); alphabetically within a layer. A model reads only the layer below,
models of its own layer that run before it, ``lake`` views and the register tables
``marts.thresholds`` and ``marts.parameters``.

An ``incremental`` mart's rows of one ``partition_by`` day must depend only on the lake rows
of that same day (and on reference datasets): no window over days, no lag or lead, no
"latest" over history. Such a mart stays ``table`` (rebuilt in full at every build).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from spse.core import config
from spse.core.errors import WarehouseError  # re-exported: callers import it from here too

LAYERS = ("staging", "intermediate", "marts")
REGISTER_TABLES = ("thresholds", "parameters")
GRAIN_PREFIX = "One row per"
MATERIALIZATIONS = {"staging": ("view", "table"), "intermediate": ("view", "table"), "marts": ("table", "incremental")}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader: 20 times faster
_BELOW = {"staging": "lake", "intermediate": "staging", "marts": "intermediate"}
_REFERENCE = re.compile(r"\b(lake|staging|intermediate|marts)\s*\.\s*([a-z_][a-z0-9_]*)", re.IGNORECASE)


def sql_dir() -> Path:
    """``$SPSE_SQL_DIR``, the ``sql/`` folder of the checkout, or the copy packaged in the wheel."""
    override = config.sql_dir_override()
    if override:
        return override
    checkout = Path(__file__).resolve().parents[3] / "sql"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parents[2] / "sql"


@dataclass(frozen=True)
class Sidecar:
    """A model's documentation: the table description and ``{column: (description, unit)}``.

    ``materialized``: ``view``, ``table`` or ``incremental`` (:data:`MATERIALIZATIONS` of its layer).
    """

    path: Path
    description: str
    columns: dict[str, tuple[str, str]]
    materialized: str = "table"
    partition_by: str | None = None
    neighbour_days: int = 0

    @property
    def kind(self) -> str:
        """``view`` or ``table``: what the build creates (an incremental mart is a table)."""
        return "view" if self.materialized == "view" else "table"

    @property
    def incremental(self) -> bool:
        """True when the model is rebuilt only for the changed days of its ``partition_by`` column."""
        return self.materialized == "incremental"

    def comment(self, column: str) -> str:
        """``"<description> [<unit>]"``, the ``COMMENT ON`` text of ``column``."""
        description, unit = self.columns[column]
        return f"{description} [{unit}]"


@dataclass(frozen=True)
class Model:
    """One SQL model: its layer (``staging``, ``intermediate``, ``marts``), name and ``.sql`` file."""

    layer: str
    name: str
    path: Path

    @property
    def qualified(self) -> str:
        """``<layer>.<name>``, the schema-qualified name it is built under."""
        return f"{self.layer}.{self.name}"

    @property
    def label(self) -> str:
        """``model <layer>.<name> (<path>)``, how error messages name it."""
        return f"model {self.qualified} ({self.path})"

    def select(self) -> str:
        """The model's ``select`` statement, without a trailing semicolon."""
        return self.path.read_text(encoding="utf-8").strip().rstrip(";").rstrip()


def discover(root: Path) -> list[Model]:
    """Every model, in run order."""
    if not root.is_dir():
        raise WarehouseError(f"SQL model folder {root} does not exist (set SPSE_SQL_DIR)")
    return [Model(layer, path.stem, path) for layer in LAYERS for path in sorted((root / layer).glob("*.sql"))]


def references(model: Model) -> set[str]:
    """Qualified names (``lake.x``, ``staging.y``, ...) the model's SQL reads, comments removed."""
    sql = re.sub(r"--[^\n]*", "", model.select())
    return {f"{schema.lower()}.{name.lower()}" for schema, name in _REFERENCE.findall(sql)}


def lake_dependencies(found: list[Model]) -> dict[str, set[str]]:
    """``{qualified model: lake datasets it reads, directly or through earlier models}``."""
    deps: dict[str, set[str]] = {}
    for model in found:
        datasets: set[str] = set()
        for ref in references(model):
            schema, name = ref.split(".", 1)
            if schema == "lake":
                datasets.add(name)
            else:
                datasets |= deps.get(ref, set())
        deps[model.qualified] = datasets
    return deps


def check_references(model: Model, earlier: set[str]) -> None:
    """Raise if ``model`` reads a schema other than the layer below, ``lake`` or the registers.

    ``earlier`` holds the qualified names of the models already built.
    """
    sql = re.sub(r"--[^\n]*", "", model.select())
    for schema, name in _REFERENCE.findall(sql):
        schema, name = schema.lower(), name.lower()
        qualified = f"{schema}.{name}"
        if schema == "marts" and name in REGISTER_TABLES:
            continue
        if schema == "lake" or schema == _BELOW[model.layer]:
            continue
        if schema == model.layer:
            if qualified in earlier:
                continue
            raise WarehouseError(f"{model.label} reads {qualified}, which is not built before it "
                                 "(models of one layer run in alphabetical order)")
        raise WarehouseError(f"{model.label} reads {qualified}: a {model.layer} model reads only "
                             f"{_BELOW[model.layer]}, lake, earlier {model.layer} models and the register tables")


def load_sidecar(path: Path, what: str) -> Sidecar:
    """Read and check one sidecar; ``what`` names the model in error messages.

    Parsed once per file version (path, size, mtime) in a process: a build reads each twice.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise WarehouseError(f"{what} has no documentation sidecar {path}") from None
    return _parsed_sidecar(path, what, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=512)
def _parsed_sidecar(path: Path, what: str, size: int, mtime_ns: int) -> Sidecar:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        raise WarehouseError(f"{what}: sidecar {path} is not valid YAML: {exc}") from exc
    description = str(doc.get("description") or "").strip()
    if not description.startswith(GRAIN_PREFIX):
        raise WarehouseError(f"{what}: sidecar {path} description must start with the grain ('{GRAIN_PREFIX} ...')")
    columns: dict[str, tuple[str, str]] = {}
    for name, spec in (doc.get("columns") or {}).items():
        spec = spec or {}
        text, unit = str(spec.get("description") or "").strip(), str(spec.get("unit") or "").strip()
        if not text or not unit:
            raise WarehouseError(f"{what}: sidecar {path} column {name!r} needs a description and a unit "
                                 "(unit '-' when dimensionless or an identifier)")
        columns[str(name)] = (" ".join(text.split()), unit)
    # the layer is the sidecar's folder (sql/<layer>/<model>.yml); the register tables' are marts
    allowed = MATERIALIZATIONS.get(path.parent.name, MATERIALIZATIONS["marts"])
    materialized = str(doc.get("materialized") or allowed[0]).strip()
    if materialized not in allowed:
        raise WarehouseError(f"{what}: sidecar {path} materialized {materialized!r} is not one of {allowed} "
                             f"(a {path.parent.name} model)")
    partition_by = doc.get("partition_by")
    if materialized == "incremental" and (partition_by is None or str(partition_by) not in columns):
        raise WarehouseError(f"{what}: sidecar {path} is incremental: partition_by must name one of its "
                             f"documented columns (the local day column, e.g. date), not {partition_by!r}")
    neighbour_days = doc.get("neighbour_days", 0)
    if not isinstance(neighbour_days, int) or neighbour_days < 0 or (neighbour_days and materialized != "incremental"):
        raise WarehouseError(f"{what}: sidecar {path} neighbour_days must be a whole number of days >= 0, "
                             f"and only for an incremental mart, not {neighbour_days!r}")
    return Sidecar(path, " ".join(description.split()), columns, materialized,
                   str(partition_by) if partition_by is not None else None, neighbour_days)


def check_columns(sidecar: Sidecar, actual: list[str], what: str) -> None:
    """Raise unless the sidecar documents exactly the columns the model produces."""
    undocumented = [c for c in actual if c not in sidecar.columns]
    unknown = [c for c in sidecar.columns if c not in actual]
    if undocumented or unknown:
        raise WarehouseError(f"{what}: documentation {sidecar.path} does not match the columns: "
                             f"undocumented {undocumented}, documented but absent {unknown}")
