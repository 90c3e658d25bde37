"""The run directory's lock: one writer at a time, a dead writer's lock free at once."""

import os
import subprocess
import sys

import pytest

from tuidl.errors import ConfigError
from tuidl.lock import LOCK, RunLock


def test_the_lock_names_its_holder_and_is_removed_on_release(tmp_path):
    lock = RunLock(tmp_path)
    lock.acquire()
    lock.acquire()  # held already: nothing happens
    assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
    with pytest.raises(ConfigError, match=f"is being written by process {os.getpid()}; wait"):
        RunLock(tmp_path).acquire()
    lock.release()
    lock.release()
    assert not (tmp_path / LOCK).exists()
    again = RunLock(tmp_path)
    again.acquire()
    again.release()


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / LOCK).write_text(dead.stdout)
    lock = RunLock(tmp_path)
    lock.acquire()
    assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
    lock.release()


def test_a_lock_held_by_another_process_is_respected_until_it_ends(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tuidl.lock import RunLock; "
         f"RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(ConfigError, match=f"process {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = RunLock(tmp_path)  # killed: its file stays, its flock went with it
    lock.acquire()
    lock.release()


def test_a_lock_that_is_a_link_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK).symlink_to(target)
    with pytest.raises(ConfigError, match="cannot lock"):
        RunLock(tmp_path / "run").acquire()
    assert not target.exists()


def test_a_lock_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / LOCK).mkdir()
    with pytest.raises(ConfigError, match="cannot lock"):
        RunLock(tmp_path).acquire()
