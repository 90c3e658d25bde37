"""The real `tuidl` in a detached tmux session: a real pty with TERM=xterm-256color.

Starts spiral-mlp, trains it, checks the loss shown falls and the gradient panel has one row
per layer, then quits with `q` and checks the exit status and that the terminal is restored.
And while it trains, the learning-rate and chart keys take effect.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from waiting import wait_until

TUIDL = str(Path(sys.executable).parent / "tuidl")
pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it with apt-get)"
)


class Tmux:
    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"tuidl-test-{uuid.uuid4().hex[:8]}"
        self.tmp_path = tmp_path

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "app")

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        """The first match of `pattern` on the screen, once it appears."""
        return wait_until(
            lambda: re.search(pattern, self.screen()), timeout, repr(pattern), 0.2, self.screen
        )


@pytest.fixture
def tmux(tmp_path):
    session = Tmux(tmp_path)
    yield session
    subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True)


def test_tuidl_trains_spiral_in_a_real_terminal(tmux, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "OPENBLAS_NUM_THREADS": "1"}
    status_file = tmp_path / "exit-status"
    # tmux 3.3a sometimes reports an empty #{pane_dead_status}: the shell writes the status
    command = f"cd {tmp_path} && {TUIDL}; echo $? > {status_file}"
    args = ["new-session", "-d", "-s", "app", "-x", "100", "-y", "30", "-e", "TERM=xterm-256color"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    tmux(*args, command)
    tmux("set-option", "-t", "app", "remain-on-exit", "on")
    tmux.wait_for(r"PAUSED\s+epoch 0\.00/100\s+step 0")
    tmux("send-keys", "-t", "app", "n")
    first = float(tmux.wait_for(r"step 1\s+loss (\d+\.\d+)").group(1))
    tmux("send-keys", "-t", "app", "space")
    tmux.wait_for(r"FINISHED\s+epoch 100\.00/100\s+step 1500", timeout=60)
    # a finished run's records reach the panels (and the smoothed loss) at the next 0.25 s
    # tick, not at the paced 1-3 s one; 3 s leaves room for a loaded machine

    def lower_loss_shown() -> str | None:
        screen = tmux.screen()
        last = float(re.search(r"step 1500\s+loss (\d+\.\d+)", screen).group(1))
        return screen if last < first else None

    screen = wait_until(lower_loss_shown, 3, f"a loss below {first}", 0.2, tmux.screen)
    # the gradient panel: one row per parameterised layer, each with a bar and a value
    bars = re.findall(r"(dense_\d)\s+█+[▌]?\s+\d", screen)
    assert bars == ["dense_0", "dense_1", "dense_2"], screen
    tmux("send-keys", "-t", "app", "q")

    def exit_status() -> str:
        return status_file.read_text().strip() if status_file.exists() else ""

    assert wait_until(exit_status, 20, "tuidl to exit after q", 0.2, tmux.screen) == "0"
    # the terminal is restored: the alternate screen is gone, the shell line is plain text
    assert "FINISHED" not in tmux.screen()
    assert (tmp_path / "runs" / "spiral-mlp-1" / "metrics.jsonl").exists()
    summary = json.loads((tmp_path / "runs" / "spiral-mlp-1" / "summary.json").read_text())
    assert (summary["status"], summary["step"]) == ("finished", 1500), summary


def test_keys_act_while_training_in_a_real_terminal(tmux, tmp_path):
    """The learning rate keys reach the training process and show while it trains (the
    latencies themselves are measured by benchmarks/bench_app.py, not asserted here)."""
    command = f"cd {tmp_path} && {TUIDL} spiral-mlp --set train.epochs=100000"
    args = ["new-session", "-d", "-s", "app", "-x", "160", "-y", "48", "-e", "TERM=xterm-256color"]
    args += ["-e", f"XDG_CACHE_HOME={tmp_path / 'cache'}", "-e", "OPENBLAS_NUM_THREADS=1"]
    # Textual takes COLUMNS/LINES over the pty's size, and pytest exports COLUMNS
    args += ["-e", "COLUMNS=160", "-e", "LINES=48"]
    tmux(*args, command)
    tmux.wait_for(r"PAUSED\s+epoch")
    tmux("send-keys", "-t", "app", "space")
    tmux.wait_for(r"RUNNING\s+epoch \d+\.\d+/100000\s+step [1-9]")
    tmux("send-keys", "-t", "app", "+")
    tmux.wait_for(r"RUNNING.*lr 0\.02\b")
    tmux("send-keys", "-t", "app", "-l", "--", "-")
    tmux.wait_for(r"RUNNING.*lr 0\.01\b")
    tmux("send-keys", "-t", "app", "a")
    tmux.wait_for(r"accuracy per epoch")
    tmux("send-keys", "-t", "app", "space")
    tmux.wait_for(r"PAUSED\s+epoch")
    tmux("send-keys", "-t", "app", "q")


def test_a_first_start_says_it_compiles_then_trains(tmux, tmp_path):
    """With an empty numba cache the kernels take seconds to compile: the status line says so
    from the start, and training steps once they are ready."""
    command = f"cd {tmp_path} && {TUIDL} digits-cnn"
    args = ["new-session", "-d", "-s", "app", "-x", "160", "-y", "48", "-e", "TERM=xterm-256color"]
    args += ["-e", f"NUMBA_CACHE_DIR={tmp_path / 'numba'}", "-e", "OPENBLAS_NUM_THREADS=1"]
    args += ["-e", f"XDG_CACHE_HOME={tmp_path / 'cache'}", "-e", "COLUMNS=160", "-e", "LINES=48"]
    tmux(*args, command)
    tmux.wait_for(r"COMPILING\s+compiling kernels \(first start only\) \d+/\d+", timeout=5)
    tmux("send-keys", "-t", "app", "space")  # taken now, applied once the kernels are ready
    tmux.wait_for(r"RUNNING\s+epoch \d+\.\d+/\d+\s+step [1-9]", timeout=120)
    assert any((tmp_path / "numba").rglob("*.nbi"))  # it was a cold start: the cache is new
    tmux("send-keys", "-t", "app", "q")


@pytest.mark.skipif(shutil.which("script") is None, reason="script (util-linux) gives a pty")
def test_tuidl_run_on_a_terminal_says_it_compiles(tmp_path):
    """On a terminal, `tuidl run` shows the app's compiling line before the first step, then
    clears it; piped (every other test), it prints nothing of the kind."""
    command = f"{TUIDL} run spiral-mlp --epochs 1 --out {tmp_path / 'runs'}"
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"], capture_output=True, timeout=120,
        env=os.environ | {"OPENBLAS_NUM_THREADS": "1"}, cwd=tmp_path,
    )  # fmt: skip
    out = result.stdout.decode()  # as bytes: the carriage returns stay
    assert result.returncode == 0, out
    assert re.search(r"compiling kernels \(first start only\) \d+/\d+", out)
    assert "\r\x1b[K" in out  # the line is cleared once the kernels are ready


def test_the_lesson_card_shows_at_start_and_the_first_key_acts(tmux, tmp_path):
    command = f"cd {tmp_path} && {TUIDL} surface-bowl"
    args = ["new-session", "-d", "-s", "app", "-x", "100", "-y", "30", "-e", "TERM=xterm-256color"]
    args += ["-e", f"XDG_CACHE_HOME={tmp_path / 'cache'}", "-e", "OPENBLAS_NUM_THREADS=1"]
    args += ["-e", "COLUMNS=100", "-e", "LINES=30"]
    tmux(*args, command)
    tmux.wait_for(r"lesson: surface-bowl")
    tmux.wait_for(r"PAUSED\s+epoch 0\.00/30")
    assert "SGD zig-zags" in tmux.screen()
    tmux("send-keys", "-t", "app", "space")  # closes the card and starts training
    tmux.wait_for(r"FINISHED\s+epoch 30\.00/30\s+step 30")
    assert "lesson: surface-bowl" not in tmux.screen()
    tmux("send-keys", "-t", "app", "L")
    tmux.wait_for(r"lesson: surface-bowl")
    tmux("send-keys", "-t", "app", "q")


def test_a_sweep_runs_under_its_screen_and_view_opens_it_again(tmux, tmp_path):
    """`tuidl sweep ... --app`: the sweep screen ranks the trials as they end; q leaves with
    the sweep done; `tuidl view SWEEP_DIR` shows the same screen."""
    space = "--space 'optimizer.lr=loguniform(1e-3,1e-1)'"
    command = f"cd {tmp_path} && {TUIDL} sweep xor-mlp {space} --trials 4 --epochs 5 --workers 2"
    args = ["new-session", "-d", "-s", "app", "-x", "120", "-y", "36", "-e", "TERM=xterm-256color"]
    args += ["-e", "OPENBLAS_NUM_THREADS=1", "-e", "COLUMNS=120", "-e", "LINES=36"]
    tmux(*args, command + " --app; sleep 30")
    tmux.wait_for(r"sweep-xor-mlp-1: \d/4 trials ended")
    tmux.wait_for(r"4/4 trials ended, 0 running · val_loss", timeout=120)
    assert re.search(r"1\s+trial-00\d\s+finished", tmux.screen())
    tmux("send-keys", "-t", "app", "q")
    tmux.wait_for(r"sweep done: 4 trials in")
    sweep_dir = tmp_path / "runs" / "sweep-xor-mlp-1"
    assert len((sweep_dir / "trials.jsonl").read_text().splitlines()) == 4
    tmux("kill-session", "-t", "app")
    tmux(*args, f"cd {tmp_path} && {TUIDL} view {sweep_dir}")
    tmux.wait_for(r"4/4 trials ended, 0 running")
    tmux("send-keys", "-t", "app", "Enter")  # the best trial, in the train view
    tmux.wait_for(r"FINISHED\s+epoch 5\.00")
    tmux("send-keys", "-t", "app", "q")
