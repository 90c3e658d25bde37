"""Training processes keep a step's freed buffers in the heap (`tuidl.heap`, through
`cores.use`): a step's arrays are not faulted in again page by page every step."""

import subprocess
import sys

import pytest

STEPS = """
import resource, sys
import numpy as np
from tuidl import cores
from tuidl.model import Sequential
from tuidl.presets import PRESETS
if sys.argv[1] == "train":
    cores.use(1)  # what `tuidl run`, the app's training and sweep trials call first
config = PRESETS["mnist-lenet"][1]["model"]
# average pooling: the relus run on the whole maps (before a max pool they would run on the
# pooled ones), so a step frees and takes back several 1.6 MB buffers
layers = [dict(l, type="avgpool2d") if l["type"] == "maxpool2d" else l for l in config["layers"]]
model = Sequential.from_config({**config, "layers": layers})
model.build((1, 28, 28), np.random.default_rng(0))
x = np.random.default_rng(1).standard_normal((64, 1, 28, 28)).astype(np.float32)
t = np.random.default_rng(2).integers(0, 10, 64)
for _ in range(3):
    model.loss_and_grads(x, t)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    model.loss_and_grads(x, t)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_step(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return float(done.stdout)


def test_a_training_process_does_not_fault_its_buffers_in_every_step():
    default = faults_per_step("plain")
    if default < 200:
        pytest.skip(f"this libc's malloc keeps the buffers by itself ({default} faults a step)")
    # ~800 pages a step when its buffers come back from the OS, ~1 else
    assert faults_per_step("train") < default / 10
