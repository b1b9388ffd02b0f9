"""The Borlänge report and index in a real browser (Debian's headless Chromium), at phone and desktop width.

Checks that the pages render (screenshots are not blank), that they ask the network for nothing (Chromium's own
net log, with every host name made unresolvable so an attempt could not succeed anyway) and that nothing is
logged to the console. A control page with an external image and a console error proves both detectors work.
Set GRANNSKAP_SCREENSHOT_DIR to keep the screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_reports import built_reports, by_name

CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"phone": (390, 2400), "desktop": (1280, 1800)}


def ensure_chromium() -> str:
    """Debian's chromium, installed with apt-get when missing; skip (with apt's own words) only if that fails."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    attempts = [install, ["apt-get", "update"], install]  # a stale package list is the usual reason to fail
    output = ""
    for command in attempts:
        if Path(CHROMIUM).exists():
            break
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            output = (result.stdout + result.stderr)[-600:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            output = str(exc)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is missing and `apt-get install -y chromium` failed: {output.strip()}")
    return CHROMIUM


def chromium(url: str, work: Path, *, size: tuple[int, int], screenshot: Path | None = None) -> dict:
    """One headless run: a screenshot (or the DOM), the URLs the page asked the network for, console lines."""
    work.mkdir(parents=True, exist_ok=True)
    netlog = work / "netlog.json"
    args = [
        ensure_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={work / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND',
        f"--log-net-log={netlog}", "--enable-logging=stderr", "--v=0", f"--window-size={size[0]},{size[1]}",
        f"--screenshot={screenshot}" if screenshot else "--dump-dom", url,
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        "dom": result.stdout,
        "requests": page_requests(netlog),
        "console": [line for line in result.stderr.splitlines() if ":CONSOLE" in line],
    }


def page_requests(netlog: Path) -> list[str]:
    """URLs the page (top frame file://) asked the network stack for; the browser's own pings are not the page's."""
    log, _ = json.JSONDecoder().raw_decode(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return sorted({
        e["params"]["url"] for e in log["events"]
        if e["type"] == start_job and str(e["params"].get("network_isolation_key", "")).startswith("file://")
    })


def assert_not_blank(png: Path, size: tuple[int, int]) -> None:
    image = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert image.shape == (size[1], size[0])
    assert image.std() > 20, f"{png.name} looks blank"
    assert (image < 200).mean() > 0.03, f"{png.name} has almost no ink"


@pytest.fixture(scope="module")
def borlange(tmp_path_factory) -> list[Path]:
    return built_reports(tmp_path_factory, "2081", "regso")


def test_detectors_catch_an_external_request_and_a_console_error(tmp_path):
    control = tmp_path / "control.html"
    control.write_text('<!doctype html><img src="https://example.com/x.png"><script>console.error("fel")</script>')
    seen = chromium(control.as_uri(), tmp_path / "run", size=(390, 400), screenshot=tmp_path / "control.png")
    assert seen["requests"] == ["https://example.com/x.png"]
    assert any('"fel"' in line for line in seen["console"])


def test_borlange_report_and_index_render_offline_at_phone_and_desktop_width(borlange, tmp_path):
    pages = {"report": by_name(borlange, "2081-tjarna-angar.html"), "index": by_name(borlange, "index.html")}
    jobs = [(page, width) for page in pages for width in WIDTHS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(jobs, pool.map(
            lambda job: chromium(pages[job[0]].as_uri(), tmp_path / f"{job[0]}-{job[1]}", size=WIDTHS[job[1]],
                                 screenshot=tmp_path / f"{job[0]}-{job[1]}.png"),
            jobs,
        )))
    keep = os.environ.get("GRANNSKAP_SCREENSHOT_DIR")
    for (page, width), seen in runs.items():
        assert seen["requests"] == [], f"{page} at {width} asked the network for {seen['requests']}"
        assert seen["console"] == [], f"{page} at {width} logged {seen['console']}"
        png = tmp_path / f"{page}-{width}.png"
        assert_not_blank(png, WIDTHS[width])
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(png, Path(keep) / f"borlange-{page}-{width}.png")


def test_the_browser_parses_the_inline_maps(borlange, tmp_path):
    report = by_name(borlange, "2081-tjarna-angar.html")
    dom = chromium(report.as_uri(), tmp_path / "dom", size=WIDTHS["phone"])["dom"]
    assert "<h1>Tjärna Ängar</h1>" in dom
    karta = dom[dom.index('id="karta"'):dom.index('id="behovsindex"')]
    assert karta.count('id="area-') == 17 and karta.count('id="outline-2081-tjarna-angar"') == 1
    assert dom.count("<svg") == 3  # age structure, comparison, map
