"""`tuidl sweep` from the real command: on its local Dask cluster and through a real `dask
scheduler` with two `dask worker` processes on 127.0.0.1; `tuidl compare --scheduler` too."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from clitools import CONTROL, run_tuidl
from sweeptools import dask_cluster, results, weights

from tuidl.session.follow import run_dirs_in

SWEEP = ["sweep", "spiral-mlp", "--space", "optimizer.lr=loguniform(1e-3,1e-1)",
         "--space", "train.batch_size=int(16,64)", "--trials", "4", "--epochs", "2"]  # fmt: skip
RUN_FILES = {"config.toml", "metrics.jsonl", "checkpoint.npz", "summary.json"}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """SWEEP on the local cluster of two workers: (its result, its sweep directory)."""
    tmp_path = tmp_path_factory.mktemp("local")
    result = run_tuidl(*SWEEP, "--workers", "2", "--out", "o", tmp_path=tmp_path)
    return result, tmp_path / "o" / "sweep-spiral-mlp-1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, shared by this module's tests: the address."""
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as address:
        yield address


def test_a_sweep_on_the_local_cluster(local_sweep):
    result, sweep_dir = local_sweep
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"sweep spiral-mlp: 4 of 4 trials on a local Dask cluster of 2 workers, into "
        f"{Path('o') / sweep_dir.name}"
    )
    # piped: one plain line per trial, then the top table; no control characters
    assert sorted(line.split()[1] for line in lines if line.startswith("trial ")) == [
        "0/4",
        "1/4",
        "2/4",
        "3/4",
    ]
    assert "top 4 of 4 by val_loss" in result.stdout and not CONTROL.search(result.stdout)
    plan = tomllib.loads((sweep_dir / "sweep.toml").read_text())
    assert plan["format"] == "tuidl-sweep-1" and plan["metric"] == "val_loss"
    assert plan["log"] == ["optimizer.lr"] and plan["experiment"]["train"]["epochs"] == 2
    trials = {t["run"]: t for t in plan["trial"]}
    assert sorted(trials) == ["trial-000", "trial-001", "trial-002", "trial-003"]
    lines = results(sweep_dir)
    assert sorted(line["index"] for line in lines) == [0, 1, 2, 3]
    for line in lines:
        values = trials[line["run"]]["values"]
        assert line["values"] == values and line["seed"] == 0
        assert 1e-3 <= values["optimizer.lr"] <= 1e-1 and 16 <= values["train.batch_size"] <= 64
        assert line["status"] == "finished" and line["attempts"] == 1
        assert line["metric"] == line["best"]["val_loss"] and line["steps_per_s"] > 0
        assert line["worker"].startswith("tcp://127.0.0.1:")
        run_dir = sweep_dir / line["run"]
        assert {p.name for p in run_dir.iterdir()} == RUN_FILES
        config = tomllib.loads((run_dir / "config.toml").read_text())
        assert config["optimizer"]["lr"] == values["optimizer.lr"]
        assert config["train"]["batch_size"] == values["train.batch_size"]
    # `tuidl view SWEEP_DIR` opens every trial
    assert [p.name for p in run_dirs_in([sweep_dir])] == sorted(trials)


def test_the_same_sweep_through_a_dask_scheduler_draws_and_trains_the_same(
    local_sweep, cluster, tmp_path
):
    result = run_tuidl(*SWEEP, "--scheduler", cluster.address, "--out", "o", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"4 of 4 trials on the Dask cluster at {cluster.address}" in result.stdout
    sweep_dir = tmp_path / "o" / "sweep-spiral-mlp-1"
    _, local_dir = local_sweep
    plans = [tomllib.loads((d / "sweep.toml").read_text()) for d in (sweep_dir, local_dir)]
    assert plans[0]["trial"] == plans[1]["trial"]  # the same command draws the same trials
    remote = sorted(results(sweep_dir), key=lambda line: line["index"])
    local = sorted(results(local_dir), key=lambda line: line["index"])
    assert {line["worker"] for line in remote} <= set(cluster.workers)
    for mine, theirs in zip(remote, local, strict=True):
        assert mine["metric"] == theirs["metric"]
        run, other = sweep_dir / mine["run"], local_dir / theirs["run"]
        assert (run / "config.toml").read_bytes() == (other / "config.toml").read_bytes()
        same = weights(run), weights(other)
        assert same[0].keys() == same[1].keys()
        assert all((same[0][key] == same[1][key]).all() for key in same[0])


def test_a_diverging_trial_is_recorded_and_the_sweep_goes_on(cluster, tmp_path):
    result = run_tuidl(
        "sweep", "xor-mlp", "--grid", "--space", "optimizer.lr=0.05,1e38",
        "--set", "optimizer.name=sgd", "--epochs", "2", "--scheduler", cluster.address,
        "--out", "o", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = {
        line["values"]["optimizer.lr"]: line for line in results(tmp_path / "o" / "sweep-xor-mlp-1")
    }
    assert lines[1e38]["status"] == "diverged" and lines[1e38]["metric"] is None
    assert lines[0.05]["status"] == "finished" and lines[0.05]["metric"] is not None
    assert "trial 1/2 diverged" in result.stdout


def test_compare_runs_on_a_dask_scheduler(cluster, tmp_path):
    result = run_tuidl(
        "compare", "xor-mlp", "--optimizers", "sgd,adam", "--epochs", "2",
        "--scheduler", cluster.address, "--out", "o", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = tmp_path / "o" / "compare-xor-mlp-1"
    for name in ("sgd", "adam"):
        assert {p.name for p in (root / name).iterdir()} == RUN_FILES
    assert "best val loss" in result.stdout
