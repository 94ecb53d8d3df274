"""Headless Chromium for the browser tests: a screenshot, the DOM after the page's script ran,
and the console messages (``--enable-logging=stderr`` prints each as an ``INFO:CONSOLE`` line).

Debian's ``chromium`` package; the tests skip with the reason when it is absent. No network:
the flags turn off every background connection and the pages load nothing from outside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium_path() -> str | None:
    return os.environ.get("CNNCALC_CHROMIUM") or shutil.which("chromium")


def run_chromium(page: Path, *args: str, timeout: float = 90) -> tuple[str, list[str]]:
    """(stdout, console lines) of chromium on a local file with extra ``args``."""
    exe = chromium_path()
    assert exe, "chromium not found"
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                *args,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    console = [ln for ln in p.stderr.splitlines() if ":CONSOLE" in ln]
    return p.stdout, console


def dump_dom(page: Path, budget_ms: int = 3000) -> tuple[str, list[str]]:
    return run_chromium(page, f"--virtual-time-budget={budget_ms}", "--dump-dom")


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1600) -> list[str]:
    _, console = run_chromium(
        page,
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        "--virtual-time-budget=3000",
    )
    return console
