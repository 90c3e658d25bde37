"""`tuidl bench --quick` runs on tiny shapes and prints and writes a row for every kernel.

No timing assertions here: speed is what the command reports, never what a test asserts.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tuidl.bench import cases, harness

QUICK_CASES = [case.name for case in cases.kernel_cases(quick=True)]


def tuidl_script() -> list[str]:
    script = Path(sys.executable).with_name("tuidl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tuidl"]


def test_quick_bench_prints_every_kernel_row_and_writes_numbers(tmp_path):
    out = tmp_path / "out.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [*tuidl_script(), "bench", "--quick", "--no-torch", "--threads", "1", "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "Machine: " in table and "numba" in table
    for name in QUICK_CASES:
        assert f"| {name} |" in table, f"no row for {name}:\n{table}"
    report = json.loads(out.read_text())
    assert [row["name"] for row in report["kernels"]] == QUICK_CASES
    for row in report["kernels"]:
        assert set(row["timing"]) == {"tuidl", "numpy"}
        for timing in row["timing"].values():
            assert timing["median_ms"] > 0 and timing["calls"] > 0
            assert math.isfinite(timing["faults_per_call"])
        assert row["ratio"] > 0 and row["best"] == "numpy"
        assert row["max_rel_err"]["tuidl"]["value"] <= harness.AGREEMENT_RTOL
    assert report["machine"]["threads"] >= 1 and report["machine"]["numpy"] == np.__version__
