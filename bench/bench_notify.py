"""Benchmark: alert e-mails to many subscribers through a local SMTP server (aiosmtpd).

Builds ``--subscribers`` e-mail subscribers (no filter: every alert goes to each) and an
outbox of ``--alerts`` synthetic alerts in a temporary SPSE_HOME, then times a first delivery
(everything sent) and a re-run (everything already sent) of :func:`spse.pipeline.notify.deliver`
against aiosmtpd on 127.0.0.1 (one connection for the run, no TLS).

    uv run python bench/bench_notify.py [--subscribers 500] [--alerts 6]

Prints the timings and writes ``bench/out/notify.json``. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 1, 15)
OUT = Path(__file__).resolve().parent / "out" / "notify.json"


class _Count:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 OK"


def _alert(alert_id: str) -> dict:
    return {"alert_id": alert_id, "date": DAY.isoformat(), "kind": "air_quality", "status": "opened",
            "episode_start_date": DAY.isoformat(), "pollutant": "PM10", "level": "information", "value": 62.4,
            "unit": "µg/m³", "threshold": {"value": 50.0, "averaging": "day_mean", "reference": "R221-1"},
            "zones": [{"zone_id": f"751{i:02d}", "zone_name": f"{i}e Ardt"} for i in range(1, 21)],
            "area_km2": 40.0, "population": {"total": 1.2e6, "age_0_5": 8e4, "age_65_plus": 2e5},
            "facilities": [], "meets_episode_criteria": True, "episode_criteria_note": "Indicatif."}


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--alerts", type=int, default=6)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="spse-bench-notify-"))
    os.environ.update({"SPSE_HOME": str(home), "SPSE_SMTP_HOST": "127.0.0.1", "SPSE_SMTP_PORT": str(port),
                       "SPSE_SMTP_SECURITY": "none", "SPSE_SMTP_BACKOFF_S": "0"})
    os.environ.pop("SPSE_ALERT_WEBHOOK_URL", None)
    from spse.pipeline import notify
    from spse.pipeline.alerts.outbox import outbox_dir

    folder = outbox_dir(DAY)
    folder.mkdir(parents=True)
    for i in range(args.alerts):
        (folder / f"a{i:03d}.json").write_text(json.dumps(_alert(f"a{i:03d}"), ensure_ascii=False))
    (home / "subscriptions.yml").write_text("subscribers:\n" + "".join(
        f"  - {{id: s{i}, channel: email, address: s{i}@bench.test}}\n" for i in range(args.subscribers)))

    handler = _Count()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        started = time.perf_counter()
        first = notify.deliver(DAY)["subscriptions"]
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = notify.deliver(DAY)["subscriptions"]
        again_s = time.perf_counter() - started
    finally:
        controller.stop()
    result = {"subscribers": args.subscribers, "alerts": args.alerts, "messages_received": handler.messages,
              "first_run_s": round(first_s, 2), "first_run_sent": first["sent"],
              "messages_per_s": round(first["sent"] / first_s, 1), "rerun_s": round(again_s, 2),
              "rerun_already_sent": again["already_sent"], "rerun_sent": again["sent"]}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
