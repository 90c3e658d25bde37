"""`tuidl bench`'s parts: the agreement check catches a wrong kernel, every implementation of
the quick cases matches the numpy reference, timing and section options. The command itself
runs in e2e/test_bench_cli.py.

No timing assertions here: speed is what the command reports, never what a test asserts.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from tuidl.bench import cases, harness, numpy_ref
from tuidl.bench.command import SECTIONS, _sections
from tuidl.errors import ConfigError

QUICK_CASES = [case.name for case in cases.kernel_cases(quick=True)]


def _conv_case():
    case = next(c for c in cases.kernel_cases(quick=True) if c.name == "conv2d B")
    inputs = cases.make_inputs(case, np.random.default_rng(0))
    return case, inputs


def test_agreement_accepts_tuidl_and_catches_a_wrong_implementation():
    case, a = _conv_case()
    reference = cases.snapshot(cases.numpy_impl(case, a)())
    good = cases.snapshot(cases.tuidl_impl(case, a)())
    errors = harness.check_agreement(case.name, reference, {"tuidl": good})
    assert errors["tuidl"][0] <= harness.AGREEMENT_RTOL

    # a classic kernel bug: the filters used unflipped in dx, i.e. the wrong tap order
    flipped = np.ascontiguousarray(a["W"][:, :, ::-1, ::-1])
    wrong = numpy_ref.conv2d(a["x"], a["W"], a["b"], 1, case.shape["pad"], a["dy"], True)
    wrong["dx"] = numpy_ref.conv2d(a["x"], flipped, a["b"], 1, case.shape["pad"], a["dy"], True)[
        "dx"
    ]
    with pytest.raises(harness.Disagreement, match="conv2d B: broken disagrees .* on dx"):
        harness.check_agreement(case.name, reference, {"tuidl": good, "broken": wrong})


def test_agreement_catches_small_drift_missing_tensors_and_nan():
    reference = {"y": np.ones(4, np.float32), "dx": np.arange(4, dtype=np.float32)}
    drift = {"y": reference["y"] * (1 + 1e-3), "dx": reference["dx"]}
    with pytest.raises(harness.Disagreement, match="on y: max relative error 1.00e-03"):
        harness.check_agreement("case", reference, {"impl": drift})
    with pytest.raises(harness.Disagreement, match="on dx"):
        harness.check_agreement("case", reference, {"impl": {"y": reference["y"]}})
    nan = {"y": reference["y"], "dx": np.full(4, np.nan, np.float32)}
    with pytest.raises(harness.Disagreement, match="on dx"):
        harness.check_agreement("case", reference, {"impl": nan})


@pytest.mark.parametrize("name", QUICK_CASES)
def test_every_implementation_matches_the_numpy_reference(name):
    case = next(c for c in cases.kernel_cases(quick=True) if c.name == name)
    a = cases.make_inputs(case, np.random.default_rng(1))
    reference = cases.snapshot(cases.numpy_impl(case, a)())
    candidates = {"tuidl": cases.snapshot(cases.tuidl_impl(case, a)())}
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        candidates["torch"] = cases.snapshot(cases.torch_impl(case, a)())
    harness.check_agreement(name, reference, candidates)


def test_time_alternating_reports_every_block():
    calls = {"a": 0, "b": 0}

    def make(key):
        def fn():
            calls[key] += 1

        return fn

    plan = harness.TimingPlan(repeats=3, samples=2, sample_s=1e-4, settle_s=0.0, warmup=1)
    result = harness.time_alternating({"a": make("a"), "b": make("b")}, plan)
    for key, timing in result.items():
        assert len(timing.block_medians_ms) == 3
        assert timing.spread_ms[0] <= timing.spread_ms[1]
        assert calls[key] >= timing.calls


def test_sections_option():
    quick = argparse.Namespace(only=None, quick=True)
    assert _sections(quick) == ["conv", "pool", "dense", "lstm"]
    assert _sections(argparse.Namespace(only=None, quick=False)) == list(SECTIONS)
    assert _sections(argparse.Namespace(only="lstm, e2e", quick=True)) == ["lstm", "e2e"]
    with pytest.raises(ConfigError, match="--only"):
        _sections(argparse.Namespace(only="conv,gpu", quick=False))
