"""A core gives the same bits in the run that compiles it and in runs that load it from numba's
cache, whatever the process ran first (`kernels/_linking.py`).

Winograd's forward links in its input transform `_input_core`; without `own_copies()` the
compiling run called `_input_core`'s own library (compiled first) and a run loading the forward
from the cache called the forward's copy, and on an AVX2 host they differed in the last bits of
one transform entry. Each run here is a fresh process on an empty cache folder of its own.
"""

import subprocess
import sys

import numpy as np

RUN = """
import sys
import numpy as np
from tuidl.kernels import winograd, winograd_tiles
rng = np.random.default_rng(1)
x = rng.standard_normal((64, 16, 8, 8)).astype(np.float32)
W = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
b = rng.standard_normal(32).astype(np.float32)
if sys.argv[2] == "callee first":
    V = np.zeros((36, 16 * 16 * 4 + 16), np.float32)
    winograd_tiles._input_core(x, 0, 16, 1, 1, 2, 2, V)
y, V, _ = winograd.forward(x, W, b, (1, 1, 1, 1), True)
plan = winograd._Plan(x.shape, W.shape, (1, 1, 1, 1), x.dtype)
V = plan.V(V)[:, :, : plan.C * plan.nb * plan.TH * plan.TW]  # without the unwritten skew
hits = sum(winograd._forward_worker.stats.cache_hits.values())
np.savez(sys.argv[1], y=y, V=V, hits=hits)
"""


def run(tmp_path, name, order):
    out = tmp_path / f"{name}.npz"
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba"), "OPENBLAS_NUM_THREADS": "1", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(out), order], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return np.load(out)


def test_the_compiling_run_and_runs_from_the_cache_give_the_same_bits(tmp_path):
    compiled = run(tmp_path, "compiled", "callee first")
    loaded = run(tmp_path, "loaded", "forward only")
    loaded_after_callee = run(tmp_path, "loaded-after-callee", "callee first")
    assert compiled["hits"] == 0 and loaded["hits"] > 0 and loaded_after_callee["hits"] > 0
    for key in ("V", "y"):
        assert compiled[key].tobytes() == loaded[key].tobytes(), key
        assert loaded_after_callee[key].tobytes() == loaded[key].tobytes(), key
