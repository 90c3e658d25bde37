"""Running the real `tuidl` executable in tests, and checking its one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline
TUIDL = str(Path(sys.executable).parent / "tuidl")  # the console script pip installed


def tuidl_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment for a tuidl process: private cache, no data folder, mirror or proxy
    unless given in `env`."""
    environ = {k: v for k, v in os.environ.items() if k not in ("TUIDL_DATA", "TUIDL_MIRROR")}
    environ.update(XDG_CACHE_HOME=str(tmp_path / "cache"), no_proxy="*", NO_PROXY="*")
    environ.update(OPENBLAS_NUM_THREADS="1", **env)
    return environ


def run_tuidl(
    *args: str, tmp_path: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess:
    """Run `tuidl ARGS` in `tmp_path` as a user would, capturing its output as text."""
    return subprocess.run(
        [TUIDL, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=tuidl_env(tmp_path, **env),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_tuidl(tmp_path: Path, *args: str) -> subprocess.Popen:
    """`tuidl ARGS` running in the background, its output on pipes."""
    return subprocess.Popen(
        [TUIDL, *args], cwd=tmp_path, env=tuidl_env(tmp_path), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, exactly one stderr line starting `tuidl: error:` holding every needle."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tuidl: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
