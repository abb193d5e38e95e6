"""Benchmark: the warehouse build of one new day with a month and a year of history, full vs incremental.

The baseline is the previous implementation itself: the ``spse`` package and ``sql/`` as they
were before incremental builds (``BASELINE_REV``, exported with ``git archive``), which
rebuilt every mart from the whole lake at every run. The lake is the demo's day
(``spse demo`` then ``spse run --date 2026-01-15`` in a temporary SPSE_HOME) copied under
earlier dates: every daily partition of every dataset is rewritten ``k`` days earlier
(partition name and ``date`` column shifted), for ``k`` = 1 .. N-1; then the demo's own
partitions are added back, which is the new day (air and noise hourly also rewrite the day
before, as a real run does). Each measurement runs in a fresh child process (the same
interpreter and venv), so the peak RSS is that build's own.

For N in ``--days`` (default 30 and 365):

1. this tree, full build + publish of the N-1 earlier days (the warehouse the next run finds);
2. the new day lands; this tree, incremental build + publish;
3. a second new day lands (the demo's partitions one day later); incremental build + publish
   on top of 2 (the file size shows whether repeated incremental builds keep growing it);
4. the previous implementation, build + publish of the same N+1-day lake;
5. this tree, full build (``full=True``) + publish of the N+1-day lake.

    uv run python bench/bench_warehouse.py [--days 30 365] [--keep DIR]

Writes ``bench/out/warehouse.json`` and prints a table. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
BASELINE_REV = "3756d26"  # main before incremental warehouse builds (issue 11 item 3)
DAY = dt.date(2026, 1, 15)

CHILD = r"""
import datetime as dt, inspect, json, resource, sys, time
from spse.pipeline import warehouse
full = sys.argv[2] == "full"
kwargs = {"full": True} if full and "full" in inspect.signature(warehouse.build).parameters else {}
start = time.perf_counter()
path = warehouse.build(dt.date.fromisoformat(sys.argv[1]), **kwargs)
built = time.perf_counter()
size = path.stat().st_size
warehouse.publish(path)
published = time.perf_counter()
info = warehouse.query("select * from meta.build_info").iloc[0].to_dict()
print(json.dumps({"build_s": built - start, "publish_s": published - built, "file_mb": size / 2**20,
                  "mode": info.get("build_mode", "full (previous)"), "days_rebuilt": info.get("days_rebuilt"),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, default=str))
"""


def child(tree: Path, home: Path, mode: str) -> dict:
    """Build and publish with the ``spse`` package of ``tree`` in a child process; its timings."""
    env = {**os.environ, "PYTHONPATH": str(tree), "SPSE_HOME": str(home)}
    env.pop("SPSE_SQL_DIR", None)
    out = subprocess.run([sys.executable, "-c", CHILD, DAY.isoformat(), mode], env=env,
                         capture_output=True, text=True, cwd=tree)
    if out.returncode:
        raise RuntimeError(f"build in {home} with {tree} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_tree(rev: str, into: Path) -> Path:
    """``spse/`` and ``sql/`` as they were at ``rev``, extracted under ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "spse", "sql"], check=True,
                             capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def demo_home(home: Path) -> None:
    """The demo bundle and one run of 2026-01-15 in ``home``."""
    env = {**os.environ, "SPSE_HOME": str(home)}
    spse = [sys.executable, "-c", "import sys; from spse.pipeline.cli import main; sys.exit(main())"]
    for args in (["demo"], ["run", "--date", DAY.isoformat()]):
        subprocess.run([*spse, *args], env=env, check=True, capture_output=True, cwd=REPO)


# ``date=<period_start>`` partitions (spse.pipeline.periods, spse.pipeline.health): one per period,
# not per day, so they are not copied under earlier days (30 copies of a year would each be a year)
PERIOD_DATASETS = frozenset({"period_cell", "period_station", "health_impact_zone_year", "health_impact_cell_year"})


def take_templates(lake: Path, into: Path) -> list[tuple[str, str]]:
    """Move every daily partition of ``lake`` to ``into``; the (dataset, partition) moved."""
    moved = []
    for partition in sorted(lake.glob("*/date=*")):
        if partition.parent.name not in PERIOD_DATASETS and (partition / "data.parquet").exists():
            target = into / partition.parent.name / partition.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(partition, target)
            moved.append((partition.parent.name, partition.name))
    return moved


def land(templates: Path, moved: list[tuple[str, str]], lake: Path, shift: int, con: duckdb.DuckDBPyConnection) -> None:
    """Write every template partition ``shift`` days earlier (name and ``date`` column)."""
    for dataset, partition in moved:
        day = dt.date.fromisoformat(partition.removeprefix("date=")) - dt.timedelta(days=shift)
        source = templates / dataset / partition
        target = lake / dataset / f"date={day.isoformat()}"
        target.mkdir(parents=True, exist_ok=True)
        for extra in source.iterdir():
            if extra.name != "data.parquet":
                shutil.copy2(extra, target / extra.name)
        columns = [r[0] for r in con.execute(f"describe select * from '{source / 'data.parquet'}'").fetchall()]
        replace = f" replace (cast(date as date) - {shift} as date)" if "date" in columns and shift else ""
        tmp = target / ".data.parquet.tmp"
        con.execute(f"copy (select *{replace} from '{source / 'data.parquet'}') to '{tmp}' (format parquet)")
        os.replace(tmp, target / "data.parquet")


def measure(n_days: int, demo: Path, base: Path, baseline: Path, tree: Path) -> dict:
    """The steps of the module docstring for a lake of ``n_days`` days."""
    home = base / f"home-{n_days}"
    shutil.copytree(demo, home)
    shutil.rmtree(home / "warehouse")
    lake, templates = home / "lake", base / f"templates-{n_days}"
    moved = take_templates(lake, templates)
    con = duckdb.connect()
    for shift in range(n_days - 1, 0, -1):
        land(templates, moved, lake, shift, con)
    results = {"setup: full build of the N-1 earlier days (this tree)": child(tree, home, "full")}
    land(templates, moved, lake, 0, con)
    results["incremental build of the new day (this tree)"] = child(tree, home, "auto")
    land(templates, moved, lake, -1, con)
    results["incremental build of a second new day (this tree)"] = child(tree, home, "auto")
    results["full build, previous implementation " + BASELINE_REV] = child(baseline, home, "full")
    results["full build, full=True (this tree)"] = child(tree, home, "full")
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 2**20
    return {"days": n_days, "lake_mb": round(size), "results": results}


def main() -> None:
    """Write the timings to ``bench/out/warehouse.json`` and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="folder holding the spse/ and sql/ measured as 'this tree' (e.g. a snapshot)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        demo = base / "demo"
        if not demo.exists():
            demo_home(demo)
        baseline = export_tree(BASELINE_REV, base / "baseline")
        report = [measure(n, demo, base, baseline, args.tree) for n in args.days]
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "warehouse.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"{'days':>5} {'lake MB':>8}  {'step':<52} {'build s':>8} {'publish s':>9} {'file MB':>8} "
          f"{'peak RSS MB':>11}  mode")
    for entry in report:
        for step, r in entry["results"].items():
            mode = r["mode"] + (f" ({r['days_rebuilt']} day(s))" if r["mode"] == "incremental" else "")
            print(f"{entry['days']:>5} {entry['lake_mb']:>8}  {step:<52} {r['build_s']:>8.2f} {r['publish_s']:>9.2f} "
                  f"{r['file_mb']:>8.0f} {r['peak_rss_mb']:>11.0f}  {mode}")


if __name__ == "__main__":
    main()
