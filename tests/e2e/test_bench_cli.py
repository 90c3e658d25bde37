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
import pytest

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
    assert report["machine"]["threads"] == [1] and report["machine"]["numpy"] == np.__version__


def test_bench_on_1_and_2_threads_prints_each_pass_and_the_scaling(tmp_path):
    # a list of counts runs every section at each count, then the speed-up table
    out = tmp_path / "out.json"
    result = subprocess.run(
        [*tuidl_script(), "bench", "--quick", "--no-torch", "--only", "dense,lstm",
         "--threads", "1,2", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "### Kernels, 1 thread(s)" in table and "### Kernels, 2 thread(s)" in table
    scaling = table[table.index("### Scaling: from 1 thread(s) to 2") :]
    report = json.loads(out.read_text())
    assert report["settings"]["threads"] == [1, 2]
    assert sorted((row["name"], row["threads"]) for row in report["kernels"]) == [
        ("LSTM", 1), ("LSTM", 2), ("dense", 1), ("dense", 2)
    ]  # fmt: skip
    for row in report["kernels"]:
        assert row["max_rel_err"]["tuidl"]["value"] <= harness.AGREEMENT_RTOL
    for name in ("dense", "LSTM"):
        first, second = (
            next(r for r in report["kernels"] if r["name"] == name and r["threads"] == t)
            for t in (1, 2)
        )
        speedup = first["timing"]["tuidl"]["median_ms"] / second["timing"]["tuidl"]["median_ms"]
        assert f"| {name} | 2 | {speedup:.2f}x | {speedup / 2:.2f} |" in scaling


def test_bench_epochs_on_1_and_2_threads_alternate_in_one_pass(tmp_path):
    # epochs at both counts run side by side (1T 2T 2T 1T ...), each count its own loop
    out = tmp_path / "out.json"
    result = subprocess.run(
        [*tuidl_script(), "bench", "--quick", "--no-torch", "--only", "e2e",
         "--threads", "1,2", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    rows = report["e2e"]
    assert sorted((row["name"], row["threads"]) for row in rows) == [
        ("adding-lstm", 1), ("adding-lstm", 2), ("mnist-lenet", 1), ("mnist-lenet", 2)
    ]  # fmt: skip
    epochs = [line for line in result.stderr.splitlines() if "adding-lstm epoch" in line]
    assert len(epochs) == 3 and all("tuidl 1T" in line and "tuidl 2T" in line for line in epochs)
    scaling = result.stdout[result.stdout.index("### Scaling: from 1 thread(s) to 2") :]
    for name in ("mnist-lenet", "adding-lstm"):
        one, two = (
            next(r for r in rows if r["name"] == name and r["threads"] == t) for t in (1, 2)
        )
        if "skipped" in one:  # no MNIST here
            assert "skipped" in two and "MNIST" in one["skipped"].upper()
            continue
        assert len(one["tuidl"]["epoch_s"]) == len(two["tuidl"]["epoch_s"]) == 3
        # the two counts trained the same data: the same first epoch, to float32 rounding
        assert one["tuidl"]["train_loss"][0] == pytest.approx(two["tuidl"]["train_loss"][0], 1e-4)
        speedup = one["tuidl"]["median_s"] / two["tuidl"]["median_s"]
        assert f"| {name} epoch | 2 | {speedup:.2f}x |" in scaling


@pytest.mark.parametrize(
    "option, says",
    [("0", "must be from 1"), ("1,x", "comma-separated list"), ("99", "must be from 1")],
)
def test_bench_refuses_thread_counts_in_one_line(tmp_path, option, says):
    result = subprocess.run(
        [*tuidl_script(), "bench", "--quick", "--no-torch", "--threads", option],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
