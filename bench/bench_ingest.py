"""Benchmark: ingesting a national-scale E2 day through the data-quality gate, against the ingest before it.

The baseline is the previous implementation itself: the ``spse`` package as it was before
the gate (``BASELINE_REV``, exported with ``git archive``), run on the same file in the same
benchmark run. Both sides run in a fresh child process (the same interpreter and venv), so
imports are paid alike and the peak RSS is each one's own. The file is a synthetic E2 day in
the real 23-column format, at the size of a national day (``--sites`` sites × 6 pollutants ×
24 h; a real national E2 day holds about 600 sites), with the previous day's partition in the
lake so that the gate's completeness check has its reference.

    uv run python bench/bench_ingest.py [--sites 600] [--repeat 3]

Writes ``bench/out/ingest.json`` and prints a table. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BASELINE_REV = "4172e27"  # main before the data-quality gate (issue "imperfect feeds")
DAY = dt.date(2026, 1, 15)
POLLUTANTS = (("NO2", "µg-m3", 40.0), ("PM10", "µg-m3", 25.0), ("PM2.5", "µg-m3", 15.0),
              ("O3", "µg-m3", 50.0), ("NO", "µg-m3", 10.0), ("CO", "mg-m3", 0.3))
HEADER = ("Date de début;Date de fin;Organisme;code zas;Zas;code site;nom site;type d'implantation;Polluant;"
          "type d'influence;discriminant;Réglementaire;type d'évaluation;procédure de mesure;type de valeur;valeur;"
          "valeur brute;unité de mesure;taux de saisie;couverture temporelle;couverture de données;code qualité;"
          "validité")

CHILD = r"""
import datetime as dt, json, resource, sys, time
from spse import sources
try:
    from spse.pipeline.ingest import ingest
except ImportError:  # the baseline tree, before the pipeline became a package
    from spse.ingest import ingest
source = sources.get("lcsqa_e2")
start = time.perf_counter()
report = ingest(source, dt.date.fromisoformat(sys.argv[1]))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": report.rows, "rejected": report.rejected,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def e2_day(day: dt.date, n_sites: int, rng: np.random.Generator) -> bytes:
    """One E2 day file: ``n_sites`` sites × 6 pollutants × 24 hours, UTC, a few invalid hours."""
    lines = [HEADER]
    for site in range(n_sites):
        code = f"FR{10000 + site:05d}"
        influence = ("Fond", "Trafic", "Industrielle")[site % 3]
        for pollutant, unit, level in POLLUTANTS:
            values = rng.gamma(4.0, level / 4.0, size=24)
            for hour in range(24):
                start = dt.datetime.combine(day, dt.time(hour))
                end = start + dt.timedelta(hours=1)
                invalid = rng.random() < 0.02
                value = "" if invalid else f"{values[hour]:.1f}"
                lines.append(";".join([
                    f"{start:%Y/%m/%d %H:%M:%S}", f"{end:%Y/%m/%d %H:%M:%S}", "AASQA", "FR11ZAG01", "ZAG PARIS",
                    code, f"SITE {site}", "Urbaine", pollutant, influence, "A", "Oui", "mesures fixes",
                    "Auto", "moyenne horaire validée", value, value, unit, "100", "100", "100",
                    "N" if invalid else "A", "-1" if invalid else "1"]))
    return ("\n".join(lines) + "\n").encode()


def run(tree: Path, feed: Path, home: Path, day: dt.date) -> dict:
    """Ingest ``day`` with the ``spse`` package of ``tree`` in a child process; its seconds and peak RSS (MiB)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "SPSE_HOME": str(home), "SPSE_LCSQA_E2_URL": feed.as_uri()}
    out = subprocess.run([sys.executable, "-c", CHILD, day.isoformat()], env=env, check=True,
                         capture_output=True, text=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_tree(rev: str, into: Path) -> Path:
    """The ``spse`` package as it was at ``rev``, extracted under ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "spse"], check=True, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    """Write both ingests' timings to ``bench/out/ingest.json`` and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(20260115)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        feed = tmp / "feed"
        for day in (DAY - dt.timedelta(days=1), DAY):
            path = feed / f"{day:%Y}" / f"FR_E2_{day.isoformat()}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(e2_day(day, args.sites, rng))
        size_mb = (feed / f"{DAY:%Y}" / f"FR_E2_{DAY.isoformat()}.csv").stat().st_size / 2**20
        trees = {"before the gate (" + BASELINE_REV + ")": export_tree(BASELINE_REV, tmp / "baseline"),
                 "with the gate (this tree)": REPO}
        results = {}
        for label, tree in trees.items():
            runs = []
            for i in range(args.repeat):
                home = tmp / f"home-{len(results)}-{i}"
                run(tree, feed, home, DAY - dt.timedelta(days=1))  # the previous day, for completeness
                runs.append(run(tree, feed, home, DAY))
            results[label] = {"seconds_median": statistics.median(r["seconds"] for r in runs),
                              "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs),
                              "rows": runs[0]["rows"], "rejected": runs[0]["rejected"]}
    report = {"sites": args.sites, "rows_in_file": args.sites * len(POLLUTANTS) * 24, "file_mb": round(size_mb, 1),
              "repeat": args.repeat, "results": results}
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(report, indent=2))
    print(f"E2 day: {report['rows_in_file']:,} rows, {report['file_mb']} MB; median of {args.repeat} ingests "
          "(fetch file://, land raw, parse, gate, write lake)")
    print(f"{'implementation':<32} {'seconds':>8} {'peak RSS MB':>12} {'rows kept':>10} {'quarantined':>12}")
    for label, r in results.items():
        print(f"{label:<32} {r['seconds_median']:>8.2f} {r['peak_rss_mb_max']:>12.0f} {r['rows']:>10,} "
              f"{r['rejected']:>12,}")


if __name__ == "__main__":
    main()
