"""Bad input around run directories: names, `--out`, locks, resume and interrupts.

The product rule: one line naming the problem and the fix, exit 2 (130 for Ctrl-C), no
traceback; nothing already written is lost; nothing is written outside the folder the user
named. The edits that damage a run directory are in `rundamage`.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import TUIDL, assert_one_line_error, run_tuidl, start_tuidl, tuidl_env
from rundamage import (
    claim_elements,
    compressed,
    contents,
    insert_line,
    make_dangling_link,
    make_fifo,
    make_folder,
    set_entries,
    with_objects,
)
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


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory) -> Path:
    """A finished two-epoch run of 80 training samples (5 steps an epoch), its folder."""
    tmp_path = tmp_path_factory.mktemp("finished")
    assert run_tuidl("run", tiny(tmp_path), "--out", "out", tmp_path=tmp_path).returncode == 0
    return tmp_path / "out" / "tiny-1"


@pytest.fixture
def finished(tmp_path, finished_once) -> Path:
    """A copy of `finished_once` for a test to edit, in `tmp_path/out`."""
    return Path(shutil.copytree(finished_once, tmp_path / "out" / "tiny-1"))


def assert_refused_unchanged(tmp_path: Path, run_dir: Path, *needles: str) -> None:
    """`tuidl run --resume run_dir` fails in one line holding `needles` and changes nothing."""
    before = contents(run_dir)
    result = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
    assert_one_line_error(result, *needles)
    assert contents(run_dir) == before


# (an edit of metrics.jsonl, words the error line must hold besides the file's name)
METRICS_CASES = [
    (insert_line(b"not json"), "line 3 is not JSON"),
    (insert_line(b"[1, 2]"), "line 3 is not a JSON object"),
    (insert_line(b'"step"'), "line 3 is not a JSON object"),
    (insert_line(b'{"step": 3, "loss": 0.5}'), "line 3 has no kind"),
    (insert_line(b'{"kind": "bogus\\u001b[2J"}'), "line 3 has an unknown kind 'bogus\\x1b[2J'"),
    (insert_line(b'{"kind": "step", "step": "2"}'), "step record whose step is not a whole number"),
    (insert_line(b'{"kind": "epoch", "epoch": -1, "step": 5}'), "epoch is not a whole number"),
    (insert_line(b'{"kind": "epoch", "epoch": 1, "step": 5, "train_loss": [1]}'),
     "line 3 has a train_loss that is not a number"),
    (insert_line(b'{"kind": "step", "step": 1}\xff\xfe'), "line 3 is not UTF-8 text"),
    (make_folder, "is a folder, not a plain file; move it away"),
    (make_dangling_link, "is a link, not a plain file"),
    (make_fifo, "is a pipe or device, not a plain file"),
]  # fmt: skip


@pytest.mark.parametrize("edit, needle", METRICS_CASES, ids=[n for _, n in METRICS_CASES])
def test_resume_refuses_a_damaged_metrics_file_and_changes_nothing(
    tmp_path, finished, edit, needle
):
    edit(finished / "metrics.jsonl")
    assert_refused_unchanged(tmp_path, finished, "metrics.jsonl", needle)
    assert not (tmp_path / "out" / "elsewhere.jsonl").exists()


def appended(text: bytes):
    """An edit of metrics.jsonl: `text` after its lines, as if written after the checkpoint."""
    return lambda path: path.write_bytes(path.read_bytes() + text)


# edits of metrics.jsonl a resume mends: all after the (finished) run's checkpoint
TOLERATED = {
    "cut line": appended(b'{"kind": "st'),
    "garbage": appended(b"garbage\n\xff\n[]\n"),
    "a later step": appended(b'{"kind": "step", "step": 99}\n'),
}


@pytest.mark.parametrize("edit", TOLERATED.values(), ids=TOLERATED)
def test_resume_cuts_what_lies_after_the_checkpoint(tmp_path, finished, edit):
    metrics = finished / "metrics.jsonl"
    original = metrics.read_bytes()
    edit(metrics)
    result = run_tuidl("run", "--resume", str(finished), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert metrics.read_bytes() == original


def test_resume_without_a_metrics_file_starts_one(tmp_path, finished):
    (finished / "metrics.jsonl").unlink()
    result = run_tuidl("run", "--resume", str(finished), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (finished / "metrics.jsonl").read_bytes() == b""  # finished: no step to add


# (an edit of checkpoint.npz, words the error line must hold besides the file's name)
CHECKPOINT_CASES = [
    ({"extra/step_count": "ten"}, "step_count must be a whole number >= 0, got 'ten'"),
    ({"extra/step_count": -3}, "step_count must be a whole number >= 0, got -3"),
    ({"extra/step_count": 2.5}, "step_count must be a whole number >= 0, got 2.5"),
    ({"extra/step_count": None}, "no trainer state 'step_count'; it is not a run checkpoint"),
    ({"extra/epoch": -10**12}, "epoch must be a whole number >= 0, got -1000000000000"),
    ({"extra/batch": 10**6}, "batch must be a whole number from 0 to 4, got 1000000"),
    ({"extra/order_rng": '{"state": '}, "order_rng is not a random generator state"),
    ({"extra/order_rng": '{"bit_generator": "MT19937"}'}, "order_rng is not a random"),
    ({"extra/order": lambda a: a + 1}, "order must hold each sample index from 0 to 79 once"),
    ({"extra/order": lambda a: a.astype(str)}, "order must hold each sample index"),
    ({"extra/order": lambda a: a[:5]}, "order orders 5 samples but the data has 80"),
    ({"extra/epoch_loss": np.nan}, "epoch_loss must be a finite number, got nan"),
    ({"extra/elapsed": -1.0}, "elapsed must be a finite number >= 0, got -1.0"),
    ({"extra/epoch_correct": [1, 2]}, "epoch_correct must be a whole number >= 0, got an array"),
    ({"param/dense_0.W": lambda a: a * np.nan}, "param/dense_0.W holds values that are not"),
    ({"param/dense_0.W": lambda a: a.astype(str)}, "param/dense_0.W holds values that are not"),
    ({"optim/lr": -0.1}, "optimizer state does not fit (sgd: lr must be a number"),
    ({"format": ["tuidl-checkpoint-1"]}, "is not a tuidl checkpoint"),
    (claim_elements(10**16), "extra/order claims 10000000000000000 int64 values but holds"),
    (claim_elements(10**9), "extra/order claims 1000000000 int64 values but holds"),
    (compressed, "is not a tuidl checkpoint ('format.npy' is no plain array)"),
    (with_objects, "extra/order holds Python objects"),
    (make_folder, "is not a file"),
    (lambda path: path.write_bytes(path.read_bytes()[:300]), "is damaged or not an .npz file"),
]  # fmt: skip


@pytest.mark.parametrize("edit, needle", CHECKPOINT_CASES, ids=[n for _, n in CHECKPOINT_CASES])
def test_resume_refuses_an_edited_checkpoint_and_changes_nothing(tmp_path, finished, edit, needle):
    (set_entries(edit) if isinstance(edit, dict) else edit)(finished / "checkpoint.npz")
    assert_refused_unchanged(tmp_path, finished, "checkpoint.npz", needle)


def test_resume_refuses_a_config_that_is_no_file(tmp_path, finished):
    make_folder(finished / "config.toml")
    assert_refused_unchanged(tmp_path, finished, "is not a run directory (no config.toml)")


def start_cold(tmp_path: Path, *args: str) -> subprocess.Popen:
    """`tuidl ARGS` with an empty numba cache (seconds of compiling before training), once it
    has imported numba: its start-up."""
    process = subprocess.Popen(
        [TUIDL, *args], cwd=tmp_path, text=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=tuidl_env(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "numba")),
    )  # fmt: skip
    maps = Path(f"/proc/{process.pid}/maps")
    wait_until(lambda: "numba" in maps.read_text(), 60, "numba to load")
    return process


def interrupt(process: subprocess.Popen, *pauses: float) -> str:
    """SIGINT `process`, and again after each of `pauses` (seconds); its stderr, once it ended
    with 130, in one line and without a traceback."""
    process.send_signal(signal.SIGINT)
    for pause in pauses:
        time.sleep(pause)
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stderr.splitlines()) == 1, stderr
    return stderr


@pytest.mark.parametrize("after", [0.0, 2.5], ids=["importing", "compiling"])
def test_ctrl_c_at_start_up_writes_nothing(tmp_path, after):
    process = start_cold(tmp_path, "run", "digits-cnn", "--out", "out")
    time.sleep(after)
    assert "nothing was written" in interrupt(process)
    assert not (tmp_path / "out").exists()


def test_ctrl_c_at_the_start_of_a_resume_changes_nothing(tmp_path, finished):
    before = contents(finished)
    process = start_cold(tmp_path, "run", "--resume", str(finished))
    # this network compiles in about a second: signal once the first kernel is compiled
    cache = tmp_path / "numba"
    wait_until(lambda: any(cache.rglob("*.nbi")), 60, "the first kernel compiled")
    assert "nothing was written" in interrupt(process)
    assert contents(finished) == before


def test_two_quick_ctrl_c_leave_the_last_checkpoint_to_resume_from(tmp_path):
    experiment = tiny(tmp_path, n=2000, epochs=20)
    assert run_tuidl("run", experiment, "--out", "whole", tmp_path=tmp_path).returncode == 0
    process = start_tuidl(tmp_path, "run", experiment, "--out", "out")
    run_dir = tmp_path / "out" / "tiny-1"
    wait_until((run_dir / "checkpoint.npz").exists, 60, "the first epoch's checkpoint")
    stderr = interrupt(process, 0.002)
    resume = f"tuidl run --resume {Path('out') / 'tiny-1'}"
    if not stderr.startswith("interrupted at step"):  # unless the second came after the end
        shown = run_dir.relative_to(tmp_path)
        assert (
            stderr
            == f"tuidl: interrupted; the last checkpoint is in {shown}, resume with: {resume}\n"
        )
    assert resume in stderr
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    assert not (run_dir / ".lock").exists()
    resumed = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert without_time(run_dir) == without_time(tmp_path / "whole" / "tiny-1")


def test_two_quick_ctrl_c_before_the_first_checkpoint_mark_the_run(tmp_path):
    process = start_tuidl(tmp_path, "run", "digits-cnn", "--out", "out")
    assert process.stdout.readline().startswith("training digits-cnn")
    stderr = interrupt(process, 0.002)
    run_dir = tmp_path / "out" / "digits-cnn-1"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    if (run_dir / "checkpoint.npz").exists():  # the second Ctrl-C came after the first's save
        assert "resume with: tuidl run --resume" in stderr
    else:
        shown = run_dir.relative_to(tmp_path)
        assert (
            stderr
            == f"tuidl: interrupted before the first checkpoint; {shown} has nothing to resume\n"
        )
        assert "nothing to resume" in summary["message"]
        result = run_tuidl("run", "--resume", str(run_dir), tmp_path=tmp_path)
        assert_one_line_error(result, "has no checkpoint.npz to resume from; start a new run")
    assert not (run_dir / ".lock").exists()
