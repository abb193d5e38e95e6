"""``spse new-source NAME [--dataset D | --like SOURCE]``: a new source, ready to pass the tests.

It writes:

* ``spse/sources/<name>.py``: a source with the canonical ``columns`` and ``primary_key``
  of lake dataset ``D`` taken from its existing producer (or from ``SOURCE``'s, with
  ``--like``; without either, a small hourly-concentration schema in a dataset of its own),
  the producer's kind, cadence, schedule and day window, and a working parser for a
  placeholder format (``;``-separated UTF-8 CSV whose header is the column names);
* ``tests/fixtures/sources/<name>/``: a three-row sample of that format at the path of
  ``files(SAMPLE_DAY)``, its ``SAMPLE_DAY`` and a ``bad/`` variant with one corrupted row,
  the layout the contract suite reads;
* ``tests/sources/test_<name>.py``: the sample's values, for the engineer to replace;
* its table in ``spse/sources/registry.toml``, and its rows in the README's sources table
  and in ``docs/sources.md``.

A source writing the dataset of another one is one more producer of it: it writes its own
partitions (``lake/<dataset>/source=<name>/``) and readers take the union under the
dataset's overlap rule (``[datasets.<dataset>]`` in the registry; docs/architecture.md).
To stand in for the other source instead, add ``replaces`` to both the class and the table.
"""

from __future__ import annotations

import datetime as dt
import json
import keyword
import re
import textwrap
from pathlib import Path
from string import Template
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"
SAMPLE_DAY = "2026-01-15"
ROWS = 3


def _default_columns() -> dict[str, Any]:
    from spse.core.columns import Column

    return {
        "site_id": Column("VARCHAR", "", "Measurement site identifier, as published", nullable=False),
        "pollutant": Column("VARCHAR", "", "Pollutant (NO2, PM10, PM2.5, O3, SO2)", nullable=False),
        "ts_start_utc": Column("TIMESTAMPTZ", "UTC", "Start of the hourly period (UTC)", nullable=False),
        "ts_end_utc": Column("TIMESTAMPTZ", "UTC", "End of the hourly period (UTC)", nullable=False),
        "value": Column("DOUBLE", "µg/m³", "Hourly mean concentration; NULL when invalid"),
    }


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def check_name(name: str, root: Path) -> None:
    """Refuse a ``name`` that is not a snake_case identifier, or a source that already exists under ``root``."""
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name) or keyword.iskeyword(name):
        raise ValueError(f"source name {name!r} must be snake_case, e.g. 'city_noise_sensors'")
    if (root / "spse" / "sources" / f"{name}.py").exists():
        raise FileExistsError(f"spse/sources/{name}.py already exists")


def producer(dataset: str | None = None, like: str | None = None) -> Any:
    """The existing source whose schema a new one copies: ``like``, or the producer of ``dataset``.

    Of several producers of ``dataset`` the one that is not optional (the default feed).
    ``None`` when neither is given. Raises ``KeyError`` listing the known datasets or sources.
    """
    from spse import sources

    if like:
        return sources.get(like)
    if not dataset:
        return None
    found = sorted((s for s in sources.discover() if s.dataset == dataset), key=lambda s: (s.optional, s.name))
    if not found:
        raise KeyError(f"no source produces dataset {dataset!r}; known: "
                       f"{sorted({s.dataset for s in sources.discover()})}")
    return found[0]


def _q(text: str) -> str:
    """``text`` as a double-quoted Python literal, non-ASCII kept (µg/m³)."""
    return json.dumps(text, ensure_ascii=False)


def _tuple(items: tuple[str, ...]) -> str:
    return "(" + ", ".join(map(_q, items)) + ("," if len(items) == 1 else "") + ")"


def _column_lines(columns: dict[str, Any]) -> str:
    lines = []
    for name, c in columns.items():
        parts = textwrap.wrap(c.description, 70, drop_whitespace=False) or [""]
        description = "\n            ".join(_q(p) for p in parts)
        flag = "" if c.nullable else ", nullable=False"
        lines.append(f"        {_q(name)}: Column(\n            {_q(c.type)}, {_q(c.unit)},\n"
                     f"            {description}{flag}),")
    return "\n".join(lines)


def _window(source: Any) -> tuple[str, str]:
    """The day-window method and its import, copied from the producer's convention."""
    if source is None:
        return "utc_day", "        return utc_day(day)"
    day = dt.date.fromisoformat(SAMPLE_DAY)
    window = source.day_window(day) if source.cadence == "daily" else None
    if window is None:
        return "", ""
    from spse.sources.base import local_day, utc_day

    if window == utc_day(day):
        return "utc_day", "        return utc_day(day)"
    if window == local_day(day, "Europe/Paris"):
        return "local_day", '        return local_day(day, "Europe/Paris")'
    return "", ""


def _sample_cell(name: str, column: Any, row: int, vary: bool) -> str:
    kind = column.type
    if kind == "TIMESTAMPTZ":
        hour = row + 1 if "end" in name else row
        return f"{SAMPLE_DAY}T{hour:02d}:00:00Z"
    if kind == "DOUBLE":
        return f"{10.5 + row}"
    if kind in ("INTEGER", "BIGINT"):
        return str(row + 1)
    if kind == "BOOLEAN":
        return "true"
    if kind == "DATE":
        return SAMPLE_DAY
    return f"{name}_{row if vary else 0}"


def sample(columns: dict[str, Any], primary_key: tuple[str, ...]) -> list[list[str]]:
    """The scaffold's sample rows (header first): hours 00, 01, 02 UTC of ``SAMPLE_DAY``.

    Text key columns vary by row when the key holds no instant (reference data), so that
    the key stays unique.
    """
    vary = not any(columns[k].type == "TIMESTAMPTZ" for k in primary_key)
    rows = [[_sample_cell(n, c, r, vary and n in primary_key) for n, c in columns.items()] for r in range(ROWS)]
    return [list(columns), *rows]


def _expected(columns: dict[str, Any], rows: list[list[str]]) -> str:
    """Assertions on the sample's first row, one per column, values written as literals."""
    out = []
    for (name, column), cell in zip(columns.items(), rows[1], strict=True):
        key = _q(name)
        if column.type == "TIMESTAMPTZ":
            out.append(f"    assert frame.loc[0, {key}] == pd.Timestamp({_q(cell)})")
        elif column.type == "DOUBLE":
            out.append(f"    assert frame.loc[0, {key}] == pytest.approx({cell})")
        elif column.type in ("INTEGER", "BIGINT"):
            out.append(f"    assert frame.loc[0, {key}] == {cell}")
        elif column.type == "BOOLEAN":
            out.append(f"    assert frame.loc[0, {key}]")
        elif column.type == "DATE":
            out.append(f"    assert frame.loc[0, {key}] == dt.date.fromisoformat({_q(cell)})")
        else:
            out.append(f"    assert frame.loc[0, {key}] == {_q(cell)}")
    if not any(c.type == "TIMESTAMPTZ" for c in columns.values()):
        out.append("    assert isinstance(frame, pd.DataFrame)")
    return "\n".join(out)


def _append_table_row(path: Path, heading: str, row: str) -> None:
    """Insert ``row`` after the last row of the first Markdown table under ``heading`` (or the first table)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), 0)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    last = first
    while last + 1 < len(lines) and lines[last + 1].startswith("|"):
        last += 1
    lines.insert(last + 1, row)
    path.write_text("\n".join(lines), encoding="utf-8")


def new_source(name: str, root: Path, dataset: str | None = None, like: str | None = None) -> list[Path]:
    """Write the files of source ``name`` under the repository ``root``; return them.

    ``dataset``/``like``: the lake dataset it lands in, or the source it resembles
    (:func:`producer`); without either, a dataset named ``name``.
    """
    root = root.resolve()
    if not (root / "spse" / "sources").is_dir():
        raise FileNotFoundError(f"{root} is not an spse checkout (no spse/sources/)")
    check_name(name, root)
    model = producer(dataset, like)
    columns = dict(model.columns) if model else _default_columns()
    primary_key = tuple(model.primary_key) if model else ("site_id", "pollutant", "ts_start_utc")
    target = model.dataset if model else name
    kind, cadence, schedule = (model.kind, model.cadence, model.schedule) if model else ("air", "daily", "30 * * * *")
    daily = cadence == "daily"
    window_import, window_body = _window(model)
    relative = f"{SAMPLE_DAY[:4]}/{name}_{SAMPLE_DAY}.csv" if daily else f"{name}.csv"
    time_column = getattr(model, "time_column", "ts_start_utc")
    values = {
        "name": name, "Class": _camel(name), "env": f"SPSE_{name.upper()}_URL", "dataset": target,
        "kind": kind, "cadence": cadence, "schedule": schedule,
        "producer_doc": f" (the dataset of `{model.name}`)" if model else "",
        "producer_columns": f", copied from `{model.name}`" if model else "",
        "producer_gate": f" as `{model.name}` does" if model else "",
        "producer_line": (f"    # one more producer of {target}, beside {model.name}: its own partitions; the\n"
                          f"    # overlap rule is [datasets.{target}] of registry.toml. To stand in for {model.name}:\n"
                          f'    # replaces = ("{model.name}",), in the registry too\n')
        if model and model.dataset == target and not model.optional else "",
        "columns": _column_lines(columns), "primary_key": _tuple(primary_key),
        "time_column_line": f'    time_column = "{time_column}"\n' if time_column != "ts_start_utc" else "",
        "files_doc": f"one file per UTC day at ``{{base}}/{{YYYY}}/{name}_{{YYYY-MM-DD}}.csv``" if daily
        else f"one file ``{{base}}/{name}.csv``",
        "files_doc_short": f"One CSV per day, ``<YYYY>/{name}_<YYYY-MM-DD>.csv``" if daily
        else f"The current vintage, ``{name}.csv``",
        "files_expr": f'f"{{day:%Y}}/{name}_{{day.isoformat()}}.csv"' if daily else f'"{name}.csv"',
        "window_import": f", {window_import}" if window_import else "",
        "window_method": (f"\n    def day_window(self, day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:\n"
                          f'        """UTC instants of ``day``\'s rows."""\n{window_body}\n') if window_body else "",
    }
    rows = sample(columns, primary_key)
    y, m, d = (int(p) for p in SAMPLE_DAY.split("-"))
    test_values = {"name": name, "file": relative, "part_day": f"dt.date({y}, {m}, {d})",
                   "expected": _expected(columns, rows)}
    fixture = root / "tests" / "fixtures" / "sources" / name
    module = root / "spse" / "sources" / f"{name}.py"
    test = root / "tests" / "sources" / f"test_{name}.py"
    good, bad = fixture / relative, fixture / "bad" / relative
    for path in (module, test, good, bad):
        path.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(Template((TEMPLATES / "source.py.tmpl").read_text()).substitute(values), encoding="utf-8")
    test.write_text(Template((TEMPLATES / "test_source.py.tmpl").read_text()).substitute(test_values),
                    encoding="utf-8")
    good.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    corrupted = [*rows[:2], rows[2][:-1], *rows[3:]]  # line 3: one field short
    bad.write_text("\n".join(";".join(r) for r in corrupted) + "\n", encoding="utf-8")
    (fixture / "SAMPLE_DAY").write_text(SAMPLE_DAY + "\n")
    (fixture / "bad" / "EXPECTED_REJECT").write_text(f"{relative}:3\n")
    written = [module, test, good, bad, fixture / "SAMPLE_DAY", fixture / "bad" / "EXPECTED_REJECT"]
    return written + _register(root, name, target, kind, cadence, schedule, values["producer_line"] and model.name)


def _register(root: Path, name: str, dataset: str, kind: str, cadence: str, schedule: str,
              beside: str | None) -> list[Path]:
    """Append the source's table to the registry and its rows to the README and docs/sources.md."""
    registry = root / "spse" / "sources" / "registry.toml"
    with registry.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[{name}]\ndataset = "{dataset}"\nkind = "{kind}"\ncadence = "{cadence}"\n'
                 f'schedule = "{schedule}"\noptional = true\n')
    written = [registry]
    stand_in = f", beside `{beside}`" if beside else ""
    docs = {root / "README.md": ("## Sources", f"| `{name}` | `{dataset}` | when configured{stand_in} "
                                 "| TODO: upstream format |"),
            root / "docs" / "sources.md": ("", f"| `{name}` | scaffold sample (replace) | TODO | TODO | TODO |")}
    for path, (heading, row) in docs.items():
        if path.is_file():
            _append_table_row(path, heading, row)
            written.append(path)
    return written
