"""Run the CLI in a real pseudo-terminal, as a person sees it (colour on, a given width).

    >>> r = run_in_pty("summary", "lenet5", columns=80)
    >>> r.returncode, "c1 (conv2d)" in r.text

``text`` is what the terminal shows with the ANSI escape sequences removed (and ``\\r\\n`` as
``\\n``); ``raw`` keeps them (to check that colour really was on). stdout and stderr both go to
the terminal, as in a shell. POSIX only (the ``pty`` module); tests using it skip elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent

#: CSI sequences (colours, cursor moves), OSC sequences (hyperlinks, titles), other 2-byte escapes
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class PtyResult(NamedTuple):
    returncode: int
    text: str
    raw: str


def strip_ansi(s: str) -> str:
    return ANSI.sub("", s)


def run_in_pty(
    *args: str,
    columns: int = 80,
    lines: int = 50,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> PtyResult:
    """Run ``python -m cnncalc ARGS`` with stdin/stdout/stderr on a pty of ``columns`` × ``lines``.

    The window size is set on the terminal (TIOCSWINSZ) and in COLUMNS/LINES; TERM and
    FORCE_COLOR turn colour on (NO_COLOR is removed). ``env`` adds or overrides variables.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "TERM")}
    full_env.update(
        {"COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    )
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd or ROOT,
        env=full_env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"cnncalc {' '.join(args)} ran past {timeout} s in a pty")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal (Linux)
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    rc = proc.wait(timeout=timeout)
    raw = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return PtyResult(rc, strip_ansi(raw), raw)
