"""Helpers of the importer tests: run the CLI as a person sees it (a terminal, 80 columns, colour)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from .conftest import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_tty(*args: str, columns: int = 80) -> tuple[int, str]:
    """``python -m cnncalc ARGS`` with stdout and stderr on a pseudo-terminal; (exit code, text
    without colour codes). Colour is on (no NO_COLOR), as in a user's terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update({"COLUMNS": str(columns), "LINES": "50", "TERM": "xterm-256color"})
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", *args],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=120)
    os.close(master)
    raw = b"".join(chunks).decode("utf-8", errors="replace")
    return code, ANSI.sub("", raw).replace("\r\n", "\n")
