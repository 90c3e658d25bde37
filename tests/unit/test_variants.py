"""Planning a race (`tuidl.variants.plan_race`): labels, seeds, folders, validation."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.errors import ConfigError
from tuidl.experiment import Experiment
from tuidl.presets import preset
from tuidl.trainer import Trainer
from tuidl.variants import DEFAULT_RACE, parse_race, plan_race, race_line


def small(name: str = "xor-mlp"):
    return preset(name).with_overrides(["train.epochs=1"])


def test_optimizers_and_vary_make_every_combination():
    variants = plan_race(
        [small()], "sgd:0.1,adam", ["model.init=he,xavier", "train.batch_size=8,16"]
    )
    assert [v.label for v in variants] == [
        f"{o} model.init={i} train.batch_size={b}"
        for o in ("sgd:0.1", "adam") for i in ("he", "xavier") for b in (8, 16)
    ]  # fmt: skip
    first = variants[0].experiment
    assert first.optimizer["name"] == "sgd" and first.optimizer["lr"] == 0.1
    assert first.model["init"] == "he" and first.train["batch_size"] == 8
    assert variants[-1].experiment.optimizer["name"] == "adam"
    assert variants[0].folder == "sgd-lr0.1_model.init-he_train.batch_size-8"
    assert len({v.folder for v in variants}) == len(variants)


def test_seeds_count_up_from_the_experiments_seed():
    experiment = small().with_overrides(["seed=5"])
    variants = plan_race([experiment], "sgd,adam", seeds=3)
    assert [(v.label, v.seed) for v in variants] == [
        (name, seed) for name in ("sgd", "adam") for seed in (5, 6, 7)
    ]
    assert [v.experiment.seed for v in variants] == [v.seed for v in variants]
    assert variants[1].run == "sgd seed6" and variants[1].folder == "sgd-seed1"
    assert len({v.run for v in variants}) == 6


def test_one_seed_keeps_the_plain_label():
    (variant,) = plan_race([small()], vary=["optimizer.lr=0.5"])
    assert variant.run == variant.label == "optimizer.lr=0.5"
    assert variant.experiment.optimizer["lr"] == 0.5


def test_variants_of_a_key_start_from_the_same_weights():
    variants = plan_race([small()], vary=["optimizer.weight_decay=0,0.1"])
    first, second = (Trainer(v.experiment) for v in variants)
    for key, value in first.model.params.items():
        np.testing.assert_array_equal(value, second.model.params[key])
    np.testing.assert_array_equal(first.order_rng.permutation(9), second.order_rng.permutation(9))


def test_several_experiments_on_the_same_data_race_by_name():
    deep = preset("deep-sigmoid").with_overrides(["train.epochs=1"])
    relu = preset("deep-relu").with_overrides(["train.epochs=1"])
    variants = plan_race([deep, relu], "sgd,adam")
    assert [v.label for v in variants] == [
        "deep-sigmoid sgd", "deep-sigmoid adam", "deep-relu sgd", "deep-relu adam",
    ]  # fmt: skip
    assert variants[2].experiment.model == relu.model
    assert variants[0].experiment.model == deep.model


@pytest.mark.parametrize(
    ("experiments", "optimizers", "vary", "message"),
    [
        (["xor-mlp"], None, [], "nothing to race"),
        (["xor-mlp", "spiral-mlp"], None, [], "other data"),
        (["xor-mlp"], None, ["model.init"], "write KEY=V1,V2"),
        (["xor-mlp"], None, ["model.init=he,he"], "lists a value twice"),
        (["xor-mlp"], None, ["model.nope=1,2"], "--vary: [model]: unknown key 'nope'"),
        (["xor-mlp"], "sgd,adamm", [], "did you mean 'adam'"),
        (["xor-mlp"], "sgd,sgd", [], "same optimizer twice"),
    ],
)
def test_a_bad_race_is_one_clear_error(experiments, optimizers, vary, message):
    with pytest.raises(ConfigError, match=None) as error:
        plan_race([small(name) for name in experiments], optimizers, vary)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_experiments_compare_table_is_its_default_race():
    document = small().to_dict() | {
        "compare": {"optimizers": "sgd:0.5,adam", "vary": ["train.batch_size=4,8"], "seeds": 2}
    }
    experiment = Experiment.from_dict(document)
    variants = plan_race([experiment])
    assert [(v.label, v.seed) for v in variants][:3] == [
        ("sgd:0.5 train.batch_size=4", 0), ("sgd:0.5 train.batch_size=4", 1),
        ("sgd:0.5 train.batch_size=8", 0),
    ]  # fmt: skip
    assert len(variants) == 8
    assert [v.label for v in plan_race([experiment], "momentum")] == ["momentum"]  # options win
    assert race_line(experiment) == "sgd:0.5,adam --vary train.batch_size=4,8 --seeds 2"
    assert race_line(small()) == DEFAULT_RACE
    assert parse_race(race_line(experiment)) == ("sgd:0.5,adam", ["train.batch_size=4,8"], 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sgd --seeds 0", "must be a whole number"),
        ("sgd --seeds", "needs a value"),
        ("sgd adam", "is not an option here"),
        ("--jobs 2", "is not an option here"),
        ("sgd --vary 'model.init=he", "close the quote"),
    ],
)
def test_a_bad_race_line_is_one_clear_error(text, message):
    with pytest.raises(ConfigError) as error:
        parse_race(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"compare": {"optimisers": "sgd"}}, "did you mean 'optimizers'"),
        ({"compare": {"vary": "model.init=he"}}, "vary must be a list"),
        ({"compare": {"seeds": 0}}, "seeds"),
        ({"lesson": 3}, "lesson must be a string"),
    ],
)
def test_bad_lesson_or_compare_tables_are_named(table, message):
    with pytest.raises(ConfigError) as error:
        Experiment.from_dict(small().to_dict() | table)
    assert message in str(error.value)


def test_lesson_and_compare_round_trip_through_toml(tmp_path):
    document = small().to_dict() | {"lesson": "watch x", "compare": {"optimizers": "sgd"}}
    path = tmp_path / "e.toml"
    Experiment.from_dict(document).save(path)
    loaded = Experiment.load(path)
    assert loaded.lesson == "watch x" and loaded.compare == {"optimizers": "sgd"}
