"""`--threads`: two runs on 2 threads give the same numbers through every parallel kernel, a run
resumed on 2 threads (or, with no count given, on the count it trained on) equals one trained
whole, and bad counts are one line."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import TUIDL, assert_one_line_error, run_tuidl, tuidl_env
from waiting import wait_until

from tuidl.kernels import threads

pytestmark = pytest.mark.skipif(threads.most() < 2, reason="numba runs one thread here")

# on 2 threads: the winograd (16->32 3x3, wide) and gemm (stride 2) convolutions, the max pool
# and the first dense product (64 x 128 x 1024, cut in blocks) run parallel cores; the direct
# convolution (1->16) and the average pool are under their cores' minimums on 8x8 digits and
# run on the calling thread (their parallel cores' bits: tests/unit/test_kernel_threads_direct.py
# and test_kernel_pool2d.py)
IMAGES = """
name = "images"
seed = 5
[data]
name = "digits"
[model]
loss = "softmax_cross_entropy"
layers = [
  { type = "conv2d", filters = 16, kernel = 3, padding = "same" },
  { type = "relu" },
  { type = "conv2d", filters = 32, kernel = 3, padding = "same" },
  { type = "batchnorm" },
  { type = "relu" },
  { type = "maxpool2d", size = 2 },
  { type = "conv2d", filters = 32, kernel = 3, stride = 2, padding = 1 },
  { type = "avgpool2d", size = 1 },
  { type = "flatten" },
  { type = "dense", units = 1024 },
  { type = "relu" },
  { type = "dense", units = 10 },
]
[optimizer]
name = "adam"
lr = 0.003
[train]
epochs = {epochs}
batch_size = 64
"""

# an LSTM over sequences in blocks of samples, a tanh RNN after it
SEQUENCES = """
name = "sequences"
seed = 3
[data]
name = "adding"
T = 12
n = 600
normalize = "none"
[model]
loss = "mse"
layers = [
  { type = "lstm", units = 24, return_sequences = true },
  { type = "rnn", units = 16 },
  { type = "dense", units = 1 },
]
[optimizer]
name = "adam"
lr = 0.01
[train]
epochs = {epochs}
batch_size = 50
"""


def metrics(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


def weights(run_dir: Path) -> dict[str, bytes]:
    with np.load(run_dir / "checkpoint.npz", allow_pickle=False) as npz:
        return {k: npz[k].tobytes() for k in npz.files if k.startswith(("param/", "state/"))}


@pytest.mark.parametrize("text", [IMAGES, SEQUENCES], ids=["images", "sequences"])
def test_two_runs_on_2_threads_train_the_same_bits(tmp_path, text):
    path = tmp_path / "exp.toml"
    path.write_text(text.replace("{epochs}", "1"))
    name = text.split('"')[1]
    for out in ("a", "b"):
        result = run_tuidl("run", str(path), "--threads", "2", "--out", out, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
    first, second = tmp_path / "a" / f"{name}-1", tmp_path / "b" / f"{name}-1"
    assert metrics(first) == metrics(second)
    assert weights(first) == weights(second) and len(weights(first)) > 4


@pytest.mark.parametrize(
    "count, resume_env", [("2", "2"), ("1", "")], ids=["on 2 threads", "on its own count"]
)
def test_a_resumed_run_equals_one_trained_whole(tmp_path, count, resume_env):
    # "": resumed with no count given, where every core would be 2: the run's summary says 1
    # (its dense products, cut in blocks on 2 threads, would give other bits)
    path = tmp_path / "exp.toml"
    path.write_text(IMAGES.replace("{epochs}", "3"))
    whole = run_tuidl("run", str(path), "--threads", count, "--out", "whole", tmp_path=tmp_path)
    assert whole.returncode == 0, whole.stderr
    process = subprocess.Popen(
        [TUIDL, "run", str(path), "--threads", count, "--out", "cut"], cwd=tmp_path,
        env=tuidl_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    run_dir = tmp_path / "cut" / "images-1"
    first_epoch = lambda: any(  # noqa: E731
        r["kind"] == "epoch" and r["epoch"] >= 1
        for r in (metrics(run_dir) if (run_dir / "metrics.jsonl").exists() else [])
    )
    wait_until(first_epoch, 120, "the first epoch's record")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert json.loads((run_dir / "summary.json").read_text())["threads"] == int(count)
    resumed = run_tuidl(
        "run", "--resume", str(run_dir), tmp_path=tmp_path, TUIDL_THREADS=resume_env
    )
    assert resumed.returncode == 0, resumed.stderr
    assert metrics(run_dir) == metrics(tmp_path / "whole" / "images-1")
    assert weights(run_dir) == weights(tmp_path / "whole" / "images-1")


RUN, COMPARE = ["run", "spiral-mlp"], ["compare", "spiral-mlp", "--optimizers", "sgd,adam"]


@pytest.mark.parametrize(
    "command, args, env, says",
    [
        (RUN, ["--threads", "0"], {}, "--threads must be from 1 to"),
        (RUN, ["--threads", "999"], {}, "(the cores tuidl may use here), got 999"),
        (RUN, [], {"TUIDL_THREADS": "many"}, "TUIDL_THREADS='many' is not a thread count"),
        (COMPARE, [], {"TUIDL_THREADS": "0"}, "TUIDL_THREADS='0' must be from 1 to"),
    ],
)
def test_a_bad_thread_count_is_one_line_and_writes_nothing(tmp_path, command, args, env, says):
    result = run_tuidl(*command, *args, "--out", "o", tmp_path=tmp_path, **env)
    assert_one_line_error(result, says)
    assert not (tmp_path / "o").exists()
