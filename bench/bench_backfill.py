"""Benchmark: a year of history by ``spse backfill`` against the day-by-day loop it replaces.

Every measurement runs in a fresh child process (same interpreter and venv) on its own
``SPSE_HOME`` holding the demo bundle (``DEMO_YEAR``, 2025-01-16 to 2026-01-15, Paris: about
2 200 cells, 15 stations, 4-5 pollutants), so imports are paid alike and the peak RSS is each
one's own:

* baseline: ``spse.pipeline.daily.run_day`` for each of ``--loop-days`` days (the daily job
  without Airflow, which is what building a history meant before), and ``spse backfill`` on
  the same days;
* ``spse backfill`` on the whole year (up to two days before the demo day), then on one month;
* adding the day before the demo day to each (the first daily run after a backfill, whose
  warehouse build starts from a copy of the published file), then the demo day itself (a
  daily run as every day after: the build updates the previous warehouse in place): the
  pipeline steps up to the alerts, then the warehouse build and the publish, separately.
  The demo day runs ``--day-runs`` times on each home, the month's and the year's runs
  alternated, each on a fresh copy of the home after an ``os.sync()`` (yesterday's files are on
  disk when a daily run starts), and the median is printed with the range: this machine's
  speed drifts by 20-40 % within minutes;
* the documented expert queries (``docs/expert-queries.md``) on the year's warehouse, p95
  over ``--repeat`` runs.

    uv run python bench/bench_backfill.py [--loop-days 7] [--repeat 20] [--day-runs 3]

Writes ``bench/out/backfill.json`` and prints a table. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"

CHILD = r"""
import datetime as dt, json, resource, sys, time
args = json.loads(sys.argv[1])
D = dt.date.fromisoformat
timings = {}
def timed(name, work):
    start = time.perf_counter(); value = work(); timings[name] = time.perf_counter() - start; return value
from spse.pipeline import demo
demo.ensure()
kind = args["kind"]
if kind == "loop":
    from spse.pipeline import daily
    for n in range(args["days"]):
        day = D(args["first"]) + dt.timedelta(days=n)
        timed(f"day {day}", lambda: daily.run_day(day))
elif kind == "backfill":
    from spse.pipeline import backfill
    report = timed("backfill", lambda: backfill.backfill(D(args["first"]), D(args["last"]), progress=False))
    timings.update({f"stage {k}": v for k, v in report.seconds.items()})
elif kind == "add_day":
    from spse.pipeline import daily, steps
    day = D(args["day"])
    outputs = {}
    for step in steps.daily_steps():
        if step.name in ("render_bulletin", "notify_alerts"):
            continue
        outputs[step.name] = timed(step.name, lambda: step.run(day, *(outputs[n] for n in step.uses)))
elif kind == "queries":
    from spse.pipeline.warehouse import expert
    for name, sql in args["queries"].items():
        runs = []
        for _ in range(args["repeat"]):
            start = time.perf_counter(); expert.frame(sql); runs.append(time.perf_counter() - start)
        runs.sort()
        timings[f"p95 {name}"] = runs[min(len(runs) - 1, int(round(0.95 * (len(runs) - 1))))]
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"timings": timings, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_max_rss_mb": children.ru_maxrss / 1024,
                  "cpu_s": time.process_time() + children.ru_utime + children.ru_stime}))
"""


def child(home: Path, **args) -> dict:
    """Run one measurement in a fresh interpreter on ``home``; its timings [s], peak RSS [MB] and CPU time [s].

    The backfill's worker processes (``SPSE_BACKFILL_WORKERS``) are its children: their CPU time
    is added, the largest of them is reported beside the parent's peak RSS, and ``tree_peak_mb``
    is the peak of the whole process tree's RSS summed, sampled every 50 ms (what the machine
    must hold at once).
    """
    env = {**os.environ, "SPSE_HOME": str(home)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=env, stdout=out, stderr=err,
                                   text=True)
        peak = _tree_peak_rss(process)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"bench child {args['kind']} failed:\n{err.read()[-3000:]}")
        return {**json.loads(out.read().strip().splitlines()[-1]), "tree_peak_mb": peak / 2**20}


def copy_home(home: Path, into: Path) -> None:
    """A copy of ``home`` a run may change without touching it, then ``os.sync()``.

    The lake, raw, surface and demo files are hard links (the pipeline replaces a file by
    renaming a new one over it, never writes one in place); the rest, the warehouse files
    above all (a build updates the standby in place), are copied.
    """
    into.mkdir(parents=True)
    for entry in home.iterdir():
        if entry.name in ("lake", "raw", "surfaces", "demo"):
            shutil.copytree(entry, into / entry.name, copy_function=os.link)
        elif entry.is_dir():
            shutil.copytree(entry, into / entry.name)
        else:
            shutil.copy2(entry, into / entry.name)
    os.sync()


def add_day_runs(homes: list[Path], day: dt.date, runs: int) -> dict[Path, list[dict]]:
    """Add ``day`` to ``runs`` fresh copies of each of ``homes``, one child each; their results by home.

    The homes are left as they were. They take turns (one run each, in turn, the order reversed every round): this
    machine's speed drifts by 20-40 % within minutes, and a month's runs after a year's would
    compare two speeds. Each copy is made at its home's own path: the warehouse records the
    lake files' paths, and a lake seen at another path would have every view re-created.
    """
    snapshots = {home: home.with_name(f"{home.name}-snapshot") for home in homes}
    for home, snapshot in snapshots.items():
        home.rename(snapshot)
    results: dict[Path, list[dict]] = {home: [] for home in homes}
    try:
        for round_ in range(runs):
            for home in homes if round_ % 2 == 0 else homes[::-1]:
                copy_home(snapshots[home], home)
                results[home].append(child(home, kind="add_day", day=day.isoformat()))
                shutil.rmtree(home)
    finally:
        for home, snapshot in snapshots.items():
            shutil.rmtree(home, ignore_errors=True)
            snapshot.rename(home)
    return results


def _tree_peak_rss(process: subprocess.Popen) -> int:
    """Largest sum of the RSS [bytes] of ``process`` and its descendants, sampled every 50 ms until it ends."""
    import psutil

    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.05)
    return peak


def expert_queries() -> dict[str, str]:
    """The ``spse sql "..."`` queries of docs/expert-queries.md, by their heading (none when the page is absent)."""
    page = REPO / "docs" / "expert-queries.md"
    if not page.exists():
        return {}
    queries = {}
    for section in re.split(r"^## ", page.read_text(encoding="utf-8"), flags=re.M)[1:]:
        found = re.search(r'spse sql "(.*?)"', section, re.S)
        if found:
            queries[section.splitlines()[0].strip()[:40]] = found.group(1)
    return queries


def main() -> None:
    """Run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--day-runs", type=int, default=3)
    args = parser.parse_args()
    from spse.pipeline.demo import DEMO_YEAR

    first, last = DEMO_YEAR
    before_last = last - dt.timedelta(days=1)
    backfilled = last - dt.timedelta(days=2)
    month_first = backfilled - dt.timedelta(days=30)
    loop_last = first + dt.timedelta(days=args.loop_days - 1)
    results = {}
    with tempfile.TemporaryDirectory(prefix="spse-bench-") as tmp:
        tmp = Path(tmp)
        results["loop"] = child(tmp / "loop", kind="loop", first=first.isoformat(), days=args.loop_days)
        results["backfill_same_days"] = child(tmp / "same", kind="backfill", first=first.isoformat(),
                                              last=loop_last.isoformat())
        results["backfill_year"] = child(tmp / "year", kind="backfill", first=first.isoformat(),
                                         last=backfilled.isoformat())
        results["backfill_month"] = child(tmp / "month", kind="backfill", first=month_first.isoformat(),
                                          last=backfilled.isoformat())
        for home in ("year", "month"):
            results[f"first_day_{home}"] = child(tmp / home, kind="add_day", day=before_last.isoformat())
        runs = add_day_runs([tmp / "year", tmp / "month"], last, args.day_runs)
        for home in ("year", "month"):
            results[f"add_day_{home}_runs"] = runs[tmp / home]
        queries = expert_queries()
        if queries:
            results["queries_year"] = child(tmp / "year", kind="queries", queries=queries, repeat=args.repeat)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "backfill.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    loop = sum(results["loop"]["timings"].values())
    same = results["backfill_same_days"]["timings"]["backfill"]
    year = results["backfill_year"]["timings"]["backfill"]
    def memory(label: str) -> str:
        measured = results[label]
        return (f"{measured['max_rss_mb']:12.0f} {measured['children_max_rss_mb']:13.0f} "
                f"{measured['tree_peak_mb']:12.0f} {measured['cpu_s']:9.1f}")

    print(f"{'measure':<58} {'seconds':>9} {'peak RSS MB':>12} {'+ worker MB':>13} {'all at once':>12} {'CPU s':>9}")
    print(f"{f'day-by-day run_day loop, {args.loop_days} days':<58} {loop:9.1f} {memory('loop')}")
    print(f"{f'spse backfill, the same {args.loop_days} days':<58} {same:9.1f} {memory('backfill_same_days')}")
    print(f"{f'spse backfill, the year ({(backfilled - first).days + 1} days)':<58} {year:9.1f} "
          f"{memory('backfill_year')}")
    print(f"{'  day-by-day loop extrapolated to the year':<58} {loop / args.loop_days * 365:9.1f}")
    for stage, seconds in results["backfill_year"]["timings"].items():
        if stage.startswith("stage "):
            print(f"{'    ' + stage:<58} {seconds:9.1f}")
    for home in ("month", "year"):
        runs = [r["timings"] for r in results[f"add_day_{home}_runs"]]
        first_build = results[f"first_day_{home}"]["timings"].get("build_warehouse", float("nan"))
        history = f"1 {home}"
        for label, value in (
                ("pipeline (ingest → alerts)", lambda t: sum(v for k, v in t.items()
                                                              if k not in ("build_warehouse", "publish"))),
                ("warehouse build", lambda t: t["build_warehouse"]),
                ("publish", lambda t: t["publish"]),
                ("warehouse build + publish", lambda t: t["build_warehouse"] + t["publish"])):
            values = [value(t) for t in runs]
            print(f"{f'add one day to {history}: {label}':<58} {statistics.median(values):9.2f} "
                  f"(median of {len(values)}, {min(values):.2f}-{max(values):.2f})")
        print(f"{'  first day after the backfill: warehouse build (copy)':<58} {first_build:9.2f}")
    for name, seconds in results.get("queries_year", {}).get("timings", {}).items():
        print(f"{'expert query ' + name[4:][:40]:<58} {seconds * 1000:8.1f} ms (p95)")


if __name__ == "__main__":
    main()
