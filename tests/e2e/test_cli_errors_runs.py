"""Bad input around run directories: names, `--out`, locks, resume and interrupts.

The product rule: one line naming the problem and the fix, exit 2, no traceback; nothing
already written is lost; nothing is written outside the folder the user named.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from clitools import TUIDL, assert_one_line_error, run_tuidl, tuidl_env
from waiting import wait_until

TINY = """
name = "tiny"
seed = 1
[data]
name = "spiral"
n = {n}
[model]
loss = "softmax_cross_entropy"
layers = [{{ type = "dense", units = 8 }}, {{ type = "relu" }}, {{ type = "dense", units = 2 }}]
[optimizer]
name = "sgd"
lr = 0.1
[train]
epochs = {epochs}
batch_size = 16
"""


def tiny(tmp_path: Path, n: int = 100, epochs: int = 2) -> str:
    """An experiment file of a network that trains an epoch in milliseconds; its name."""
    (tmp_path / "tiny.toml").write_text(TINY.format(n=n, epochs=epochs))
    return "tiny.toml"


def tree(root: Path) -> set[str]:
    """Every path under `root`, relative to it, but the private numba cache."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if "cache" not in p.parts}


def assert_no_escape(result) -> None:
    assert "\x1b" not in result.stdout + result.stderr, repr(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr, result.stderr


# (the experiment's name as a TOML string, the folder its run gets under --out)
NAMES = [
    ('"../../../x"', "x-1"),
    ('"sub/dir"', "sub-dir-1"),
    ('"\\u001b[31mred"', "x1b-31mred-1"),
    ('"..hidden"', "hidden-1"),
    ('"-rf"', "rf-1"),
    ('"two words\\n"', "two-words-n-1"),
]


@pytest.mark.parametrize("name, folder", NAMES, ids=[n for n, _ in NAMES])
def test_a_run_stays_inside_out_whatever_its_name(tmp_path, name, folder):
    result = run_tuidl(
        "run", tiny(tmp_path), "--epochs", "1", "--set", f"name={name}", "--out", "out",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_no_escape(result)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [folder]
    assert {p.split("/")[0] for p in tree(tmp_path)} == {"out", "tiny.toml"}


def test_an_absolute_name_stays_inside_out(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "evil"
    result = run_tuidl(
        "run", tiny(tmp_path), "--epochs", "1", "--set", f'name="{elsewhere}"', "--out", "out",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "elsewhere").exists()
    [run_dir] = (tmp_path / "out").iterdir()
    assert run_dir.name.endswith("-elsewhere-evil-1") and not run_dir.name.startswith("-")


@pytest.mark.parametrize("name", ['"../.."', '" . "', '"///"'])
def test_a_name_with_nothing_to_name_a_folder_is_refused(tmp_path, name):
    result = run_tuidl(
        "run", tiny(tmp_path), "--set", f"name={name}", "--out", "out", tmp_path=tmp_path
    )
    assert_one_line_error(result, "no letter or digit to name a run folder", "name = ")
    assert_no_escape(result)
    assert not (tmp_path / "out").exists()


def test_compare_folders_stay_inside_out(tmp_path):
    result = run_tuidl(
        "compare", tiny(tmp_path), "--optimizers", "sgd: 0.1,adam", "--epochs", "1",
        "--jobs", "1", "--set", 'name="../../\\u001b[2Jx"', "--out", "out", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_no_escape(result)
    [root] = (tmp_path / "out").iterdir()
    assert root.name == "compare-x1b-2Jx-1"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["adam", "sgd-lr0.1"]
    assert {p.split("/")[0] for p in tree(tmp_path)} == {"out", "tiny.toml"}


def test_an_error_line_shows_control_characters_escaped(tmp_path):
    result = run_tuidl("run", "no\x1b[2Jsuch\nfile.toml", tmp_path=tmp_path)
    assert_one_line_error(result, "\\x1b[2J", "\\n")
    assert_no_escape(result)


def start_tuidl(tmp_path: Path, *args: str) -> subprocess.Popen:
    """`tuidl ARGS` running in the background, its output on pipes."""
    return subprocess.Popen(
        [TUIDL, *args], cwd=tmp_path, env=tuidl_env(tmp_path), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> str:
    """Ctrl-C `process` and wait for it to end; its stderr."""
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    return stderr


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path):
    first = start_tuidl(tmp_path, "run", tiny(tmp_path, n=2000, epochs=500), "--out", "out")
    run_dir = tmp_path / "out" / "tiny-1"
    metrics = run_dir / "metrics.jsonl"
    wait_until(lambda: metrics.exists() and metrics.stat().st_size > 0, 60, "the first lines")
    try:
        written = metrics.read_bytes()
        result = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
        assert_one_line_error(
            result, f"{run_dir} is being written by process {first.pid}", "wait for it or stop it"
        )
        assert metrics.read_bytes().startswith(written)  # not cut back to the checkpoint
        assert first.poll() is None
    finally:
        stop(first)
    assert not (run_dir / ".lock").exists()
    second = start_tuidl(tmp_path, "run", "--resume", str(run_dir))
    size = metrics.stat().st_size
    wait_until(lambda: metrics.stat().st_size > size, 60, "the resumed run's lines")
    stop(second)


def test_a_run_killed_after_its_first_epoch_resumes(tmp_path):
    process = start_tuidl(tmp_path, "run", tiny(tmp_path, n=2000, epochs=30), "--out", "out")
    run_dir = tmp_path / "out" / "tiny-1"
    wait_until((run_dir / "checkpoint.npz").exists, 60, "the first epoch's checkpoint")
    process.kill()
    process.communicate()
    (run_dir / ".summary.json.k1ll3d00.tmp").write_text("{")  # as a kill mid-write leaves
    assert (run_dir / ".lock").exists()
    resumed = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epoch"] == 30
    assert {p.name for p in run_dir.iterdir()} == {
        "config.toml", "metrics.jsonl", "checkpoint.npz", "summary.json"
    }  # fmt: skip


@pytest.fixture
def tmpfs(tmp_path):
    """`tmpfs(name, options)` mounts a tmpfs at `tmp_path/name` (skips the test where this
    machine cannot mount one); all are unmounted after the test."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "--lazy", str(path)], check=True)


UNWRITABLE_OUT = [
    ("a-file", "a-file (it is not a folder)"),
    ("/dev/null", "/dev/null (it is not a folder)"),
    ("a-file/runs", "a-file/runs (Not a directory)"),
]


@pytest.mark.parametrize("out, needle", UNWRITABLE_OUT, ids=[o for o, _ in UNWRITABLE_OUT])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_out_that_is_not_a_folder(tmp_path, out, needle, command):
    (tmp_path / "a-file").write_text("mine")
    extra = ["--optimizers", "sgd"] if command == "compare" else []
    result = run_tuidl(command, tiny(tmp_path), *extra, "--out", out, tmp_path=tmp_path)
    assert_one_line_error(result, f"cannot make a run folder in {needle}", "pass --out a folder")
    assert (tmp_path / "a-file").read_text() == "mine"


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_out_on_a_read_only_disk(tmp_path, tmpfs, command):
    tmpfs("ro", "size=1m,ro")
    extra = ["--optimizers", "sgd"] if command == "compare" else []
    result = run_tuidl(command, tiny(tmp_path), *extra, "--out", "ro/runs", tmp_path=tmp_path)
    assert_one_line_error(result, "cannot make a run folder in ro/runs (Read-only file system)")


def test_resume_on_a_read_only_disk_changes_nothing(tmp_path, tmpfs):
    disk = tmpfs("disk", "size=1m")
    assert run_tuidl("run", tiny(tmp_path), "--out", str(disk), tmp_path=tmp_path).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    result = run_tuidl("run", "--resume", str(disk / "tiny-1"), tmp_path=tmp_path)
    assert_one_line_error(result, f"cannot lock {disk / 'tiny-1'} (Read-only file system")


def without_time(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


def test_a_disk_that_fills_up_keeps_the_checkpoint_and_resumes_once_freed(tmp_path, tmpfs):
    experiment = tiny(tmp_path, n=2000, epochs=5)  # 27 kB of lines an epoch, 21 kB checkpoint
    assert run_tuidl("run", experiment, "--out", "whole", tmp_path=tmp_path).returncode == 0
    disk = tmpfs("disk", "size=300k")
    (disk / "filler").write_bytes(bytes(200 * 1024))  # 100 kB left: the first epoch fits
    result = run_tuidl("run", experiment, "--out", "disk/runs", tmp_path=tmp_path)
    run_dir = Path("disk/runs/tiny-1")
    assert_one_line_error(
        result, f"the disk is full: cannot write {run_dir}", "last checkpoint is intact",
        f"free some space, then tuidl run --resume {run_dir} continues",
    )  # fmt: skip
    assert (
        not list((tmp_path / run_dir).glob(".*.tmp"))
        and not (tmp_path / run_dir / ".lock").exists()
    )
    (disk / "filler").unlink()
    resumed = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert without_time(tmp_path / run_dir) == without_time(tmp_path / "whole" / "tiny-1")


def test_a_disk_full_before_the_first_checkpoint_says_to_start_again(tmp_path, tmpfs):
    disk = tmpfs("disk", "size=300k")
    (disk / "filler").write_bytes(bytes(280 * 1024))
    result = run_tuidl("run", tiny(tmp_path, n=2000), "--out", "disk", tmp_path=tmp_path)
    assert_one_line_error(
        result, "the disk is full: cannot write disk/tiny-1 before its first checkpoint",
        "free some space and start the run again",
    )  # fmt: skip
