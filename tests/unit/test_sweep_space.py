"""The sweep's space parser, its draws and trials, and the sweep directory's files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.presets import preset
from tuidl.sweep.space import draw_values, grid_values, parse_dimension, parse_space
from tuidl.sweep.store import Plan, append_result, ranked, read_results
from tuidl.sweep.trials import plan_trials

DRAWS = 4000  # enough for each bin below to hold its share within a few percent


def test_each_distribution_parses():
    lr = parse_dimension("optimizer.lr=loguniform(1e-4, 1e-1)", grid=False)
    assert (lr.key, lr.kind, lr.args, lr.log) == ("optimizer.lr", "loguniform", (1e-4, 0.1), True)
    assert parse_dimension("model.dropout=uniform(0,0.5)", False).args == (0.0, 0.5)
    assert parse_dimension("train.batch_size=int(16,128)", False).args == (16, 128)
    assert parse_dimension("train.batch_size=logint(16,512)", False).log
    choice = parse_dimension("optimizer.name=choice(sgd, momentum,adam)", False)
    assert (choice.kind, choice.args) == ("choice", ("sgd", "momentum", "adam"))
    # values are TOML values or bare words, as --set takes them
    assert parse_dimension("k=choice(1,0.5,true,[8, 8])", False).args[:3] == (1, 0.5, True)
    assert parse_dimension("k=16,32", grid=True).args == (16, 32)
    assert parse_dimension("k=choice(16,32)", grid=True).kind == "values"


@pytest.mark.parametrize(
    "text, grid, needle",
    [
        ("optimizer.lr", False, "write KEY=DIST"),
        ("=uniform(0,1)", False, "write KEY=DIST"),
        ("k=0.1,0.2", False, "pass --grid"),
        ("k=normal(0,1)", False, "unknown distribution 'normal'"),
        ("k=uniform(1)", False, "two numbers"),
        ("k=uniform(a,b)", False, "two numbers"),
        ("k=int(1.5,3)", False, "two whole numbers"),
        ("k=uniform(2,1)", False, "under the high one"),
        ("k=uniform(0,inf)", False, "under the high one"),
        ("k=loguniform(0,1)", False, "above 0"),
        ("k=logint(0,8)", False, "above 0"),
        ("k=choice(a,,b)", False, "an empty value"),
        ("k=choice(a,a)", False, "twice"),
        ("k=loguniform(1e-4,1)", True, "not loguniform(...)"),
    ],
)
def test_a_bad_dimension_is_one_line_naming_it(text, grid, needle):
    with pytest.raises(ConfigError) as error:
        parse_dimension(text, grid)
    assert f"--space {text!r}" in str(error.value) and needle in str(error.value)
    assert "\n" not in str(error.value)


def test_a_space_needs_keys_each_once():
    with pytest.raises(ConfigError, match="at least one --space"):
        parse_space([], grid=False)
    with pytest.raises(ConfigError, match="names k twice"):
        parse_space(["k=uniform(0,1)", "k=uniform(1,2)"], grid=False)


def test_draws_follow_their_distributions(seed):
    space = parse_space(
        [
            "a=loguniform(1e-4,1e-1)",
            "b=uniform(-1,1)",
            "c=int(16,19)",
            "d=logint(1,1000)",
            "e=choice(x,y)",
        ],
        grid=False,
    )
    draws = draw_values(space, DRAWS, seed)
    columns = {key: np.array([d[key] for d in draws]) for key in "abcde"}
    a = np.log10(columns["a"])
    assert a.min() >= -4 and a.max() <= -1, seed
    # log-uniform: each decade holds a third of the draws
    for low in (-4, -3, -2):
        share = np.mean((a >= low) & (a < low + 1))
        assert abs(share - 1 / 3) < 0.04, (seed, low, share)
    assert -1 <= columns["b"].min() and columns["b"].max() <= 1 and abs(columns["b"].mean()) < 0.05
    assert all(isinstance(v, int) for v in columns["c"].tolist())
    assert sorted(set(columns["c"].tolist())) == [16, 17, 18, 19], seed  # both ends included
    d = columns["d"]
    assert d.min() >= 1 and d.max() <= 1000
    assert abs(np.mean(d < 32) - math.log(32) / math.log(1001)) < 0.04, seed  # log spread
    assert abs(np.mean(columns["e"] == "x") - 0.5) < 0.04, seed


def test_the_same_seed_draws_the_same_trials(seed):
    space = parse_space(["a=loguniform(1e-4,1e-1)", "b=int(1,9)"], grid=False)
    assert draw_values(space, 5, seed) == draw_values(space, 5, seed)
    assert draw_values(space, 5, seed) != draw_values(space, 5, seed + 1)
    # more trials come after the same first ones; a dimension added leaves the others alone
    assert draw_values(space, 8, seed)[:5] == draw_values(space, 5, seed)
    longer = draw_values(space + parse_space(["c=uniform(0,1)"], False), 5, seed)
    assert [{k: d[k] for k in "ab"} for d in longer] == draw_values(space, 5, seed)


def test_a_grid_is_every_combination_the_last_key_fastest():
    space = parse_space(["a=1,2", "b=choice(x,y,z)"], grid=True)
    assert grid_values(space) == [{"a": a, "b": b} for a in (1, 2) for b in "xyz"]


def test_a_discrete_space_smaller_than_the_trials_asks_for_grid():
    space = parse_space(["a=choice(x,y)"], grid=False)
    with pytest.raises(ConfigError, match="pass --grid"):
        draw_values(space, 3, 0)


def test_trials_are_the_experiment_with_their_values_and_seeds():
    experiment = preset("xor-mlp").with_overrides(["seed=7"])
    space = parse_space(
        ["optimizer.lr=loguniform(1e-4,1e-1)", "train.batch_size=int(4,9)"], grid=False
    )
    trials = plan_trials(experiment, space, 3, grid=False, seeds=2)
    assert [(t.index, t.seed, t.folder) for t in trials] == [
        (0, 7, "trial-000"),
        (1, 8, "trial-001"),
        (2, 7, "trial-002"),
        (3, 8, "trial-003"),
        (4, 7, "trial-004"),
        (5, 8, "trial-005"),
    ]
    assert trials[0].values == trials[1].values != trials[2].values
    for trial in trials:  # the exact float, through the TOML text of the assignment
        assert trial.experiment.optimizer["lr"] == trial.values["optimizer.lr"]
        assert trial.experiment.train["batch_size"] == trial.values["train.batch_size"]
        assert trial.experiment.seed == trial.seed
    with pytest.raises(ConfigError, match="drop --trials"):
        plan_trials(experiment, parse_space(["a=1,2"], grid=True), 3, grid=True, seeds=1)


def test_a_value_the_experiment_refuses_names_its_space_argument():
    space = parse_space(["train.batch_size=int(0,8)"], grid=False)
    with pytest.raises(ConfigError, match=r"--space 'train.batch_size=int\(0,8\)': .*batch_size"):
        plan_trials(preset("xor-mlp"), space, 2, grid=False, seeds=1)


def test_the_plan_reads_back_as_written(tmp_path):
    experiment = preset("spiral-mlp").with_overrides(["train.epochs=3"])
    space = parse_space(
        ["optimizer.lr=loguniform(1e-4,1e-1)", "optimizer.name=choice(sgd,adam)"], grid=False
    )
    trials = plan_trials(experiment, space, 4, grid=False, seeds=1)
    plan = Plan(
        experiment,
        trials,
        metric="val_acc",
        mode="random",
        seed=0,
        seeds=1,
        space=[d.text for d in space],
        log=["optimizer.lr"],
        command="tuidl sweep",
    )
    plan.write(tmp_path)
    again = Plan.read(tmp_path)
    assert again.experiment == experiment
    assert [(t.index, t.values, t.seed, t.folder, t.experiment) for t in again.trials] == [
        (t.index, t.values, t.seed, t.folder, t.experiment) for t in trials
    ]
    assert (again.metric, again.space, again.log) == ("val_acc", plan.space, ["optimizer.lr"])
    (tmp_path / "sweep.toml").write_text('format = "other"\n')
    with pytest.raises(ConfigError, match="not a tuidl sweep plan"):
        Plan.read(tmp_path)
    with pytest.raises(ConfigError, match="not a sweep directory"):
        Plan.read(tmp_path / "nowhere")


def test_results_rank_by_the_metric_and_skip_a_cut_line(tmp_path):
    for index, metric in [(0, 0.5), (1, None), (2, 0.9), (3, 0.7)]:
        append_result(tmp_path, {"index": index, "metric": metric})
    with open(tmp_path / "trials.jsonl", "a") as file:
        file.write('{"index": 4, "met')  # a crash in the middle of a line
    lines = read_results(tmp_path)
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert [line["index"] for line in ranked(lines, "val_acc")] == [2, 3, 0, 1]
    assert [line["index"] for line in ranked(lines, "val_loss")] == [0, 3, 2, 1]
