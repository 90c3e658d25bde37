"""The kernels on the x86 vector width this machine does not have, through NUMBA_CPU_NAME.

Users run tuidl on AMD (AVX2) and Intel (AVX-512) machines alike, and numba compiles for the
host. Where the host has AVX-512, the kernels also run (and are checked against numpy by
`tuidl bench --quick`) compiled for `haswell`, AVX2 only; where it has AVX2 only, code compiled
for `skylake-avx512` cannot run, so its parallel cores are compiled (with the signatures this
machine used) and must come out vectorised, as they do for the host.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
from clitools import TUIDL

from tuidl.bench import cases

HOST_AVX512 = "avx512f" in open("/proc/cpuinfo").read().split()  # noqa: SIM115
# serial cores of the element-wise and pooling kernels: small enough to compile in seconds
# (the LSTM's take a minute; a parallel core's loop is not in its own assembly)
CORES = [
    ("tuidl.kernels.elementwise", "_forward_serial"),
    ("tuidl.kernels.elementwise", "_backward_serial"),
    ("tuidl.kernels.pool2d", "_maxpool_backward_block"),
]

COMPILE = """
import importlib, pickle, sys
signatures = pickle.load(open(sys.argv[1], "rb"))
for (module, name), sigs in signatures.items():
    core = getattr(importlib.import_module(module), name)
    for sig in sigs:
        core.compile(sig)
        asm = core.inspect_asm(sig)
        print(module, name, asm.count("%ymm") + asm.count("%zmm"))
"""


def _host_signatures():
    """Each core's signatures, as this process compiled them on realistic inputs."""
    from tuidl.kernels import elementwise, pool2d

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 28, 28)).astype(np.float32)
    elementwise.relu_backward(x, elementwise.relu_forward(x))
    y, argmax = pool2d.maxpool2d_forward(x, 2, 2)
    pool2d.maxpool2d_backward(y, argmax, x.shape)
    modules = {"tuidl.kernels.elementwise": elementwise, "tuidl.kernels.pool2d": pool2d}
    return {(m, n): getattr(modules[m], n).signatures for m, n in CORES}


def _env(tmp_path, cpu: str) -> dict[str, str]:
    return dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CACHE_DIR=str(tmp_path / "numba"))


def test_the_other_vector_width_compiles_vectorised_or_runs_right(tmp_path):
    if HOST_AVX512:
        result = subprocess.run(
            [TUIDL, "bench", "--quick", "--no-torch", "--only", "conv,pool,dense",
             "--threads", "1"],
            env=_env(tmp_path, "haswell"), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr  # 1: a kernel disagreed with numpy
        for case in cases.kernel_cases(quick=True):
            if case.group != "lstm":
                assert f"| {case.name} |" in result.stdout
        return
    signatures = _host_signatures()
    assert all(signatures.values()), signatures
    path = tmp_path / "signatures.pkl"
    path.write_bytes(pickle.dumps(signatures))
    result = subprocess.run(
        [sys.executable, "-c", COMPILE, str(path)],
        env=_env(tmp_path, "skylake-avx512"), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    vector_ops = {
        (module, name): int(count)
        for module, name, count in (line.split() for line in result.stdout.splitlines())
    }
    assert set(vector_ops) == set(CORES)
    assert all(count > 0 for count in vector_ops.values()), vector_ops
