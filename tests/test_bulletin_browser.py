"""The bulletin opened in headless Chromium: it renders, logs no console error, and is saved as a screenshot.

Chromium is driven through the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages ending in NUL on file descriptors 3 and 4), so that console messages come with their
level and failed resource loads are reported. The screenshot is written to
``bench/out/bulletin/`` (ignored by git) and its path printed and recorded as a test property.
Skipped when ``chromium`` is not installed (CI installs it, ``.ci/run``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
from pathlib import Path

import pytest
from test_bulletin import DAY, warehouse  # noqa: F401  (the hand-made warehouse fixture)

from spse.pipeline import bulletin

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[1] / "bench" / "out" / "bulletin"
WIDTH, HEIGHT = 1280, 2400
WAIT_S = 60.0  # a bound against a hung browser, not a timing assertion

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


class Browser:
    """One headless Chromium process spoken to over ``--remote-debugging-pipe``."""

    def __init__(self, profile: Path):
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def on_fds_3_and_4():  # in the child: the protocol's fixed descriptors, the only ones inherited
            ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=on_fds_3_and_4)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next, self.events, self.session = b"", 0, [], None

    def send(self, method: str, params: dict | None = None) -> dict:
        """Send one command (to the attached page when there is one) and return its result."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The first event ``method`` (already received or next)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._message()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], WAIT_S)
            if not ready:
                raise TimeoutError(f"chromium said nothing for {WAIT_S} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(text)

    def close(self) -> None:
        """Close the browser and wait for it."""
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._write)
        os.close(self._read)


def open_page(url: str, profile: Path) -> tuple[list[str], bytes, str]:
    """Load ``url``; return its console errors (console.error, uncaught exceptions, failed loads), a PNG
    screenshot of the whole page at :data:`WIDTH` px, and the page's rendered text followed by
    ``scrollWidth=<px>``.
    """
    browser = Browser(profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        browser.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable")
        browser.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": HEIGHT,
                                                            "deviceScaleFactor": 1, "mobile": False})
        browser.send("Page.navigate", {"url": url})
        browser.wait_for("Page.loadEventFired")
        text = browser.send("Runtime.evaluate", {"expression": "document.body.innerText + '\\nscrollWidth=' + "
                                                               "document.documentElement.scrollWidth",
                                                 "returnByValue": True})["result"]["value"]
        shot = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png",
                                                                        "captureBeyondViewport": True})["data"])
        errors = []
        for event in browser.events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif event.get("method") == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif event.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"]["text"])
        return errors, shot, text
    finally:
        browser.close()


def test_bulletin_renders_in_chromium_without_console_error(warehouse, spse_home, tmp_path,  # noqa: F811
                                                            record_property):
    path = bulletin.render(DAY, warehouse_path=warehouse)
    errors, shot, text = open_page(path.as_uri(), tmp_path / "profile")
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SHOTS / f"bulletin-{DAY}.png"
    screenshot.write_bytes(shot)
    record_property("screenshot", str(screenshot))
    print(f"\nbulletin screenshot: {screenshot}")
    assert errors == []
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert WIDTH - 20 <= int.from_bytes(shot[16:20], "big") <= WIDTH  # less a scroll bar
    assert int(text.rsplit("scrollWidth=", 1)[1]) <= WIDTH  # nothing wider than the window
    assert "Qualité de l'air à Paris : bulletin du mercredi 2 juillet 2025" in text
    assert "NO2 : seuil d'information (Code de l'environnement, art. R221-1)" in text


def test_console_errors_are_caught(tmp_path):
    """The check above can fail: a page with a script error and a missing image is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><img src=\"missing.png\" alt=\"\">"
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    errors, _, _ = open_page(page.as_uri(), tmp_path / "profile")
    assert any("boom" in e for e in errors)
    assert any("undefinedFunction" in e or "Uncaught" in e for e in errors)
    assert any("ERR_FILE_NOT_FOUND" in e or "Failed to load resource" in e for e in errors)
