"""Every numba core in tuidl.kernels compiles with the project's flags, and warmup works."""

import numba
import numpy as np
import pytest
from numba.core.caching import FunctionCache

from tuidl import kernels
from tuidl.kernels import _flags, blas, conv2d, direct, im2col, lstm, norms, pool2d, rnn


def cores():
    return [
        obj
        for module in (blas, conv2d, direct, im2col, pool2d, lstm, rnn, norms)
        for _, obj in sorted(vars(module).items())
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == module.__name__
    ]


def test_every_core_is_found():
    names = {core.py_func.__name__ for core in cores()}
    expected = {"_direct_core", "_direct_dw_core", "_im2col_core", "_col2im_core",
                "_maxpool_core", "_maxpool_backward_core", "_avgpool_core",
                "_lstm_forward_core", "_lstm_backward_core", "_rnn_forward_core",
                "_rnn_backward_core", "save_and_norms", "update_ratios", "gemm"}  # fmt: skip
    assert expected <= names, expected - names


@pytest.mark.parametrize("core", cores(), ids=lambda core: core.py_func.__name__)
def test_cores_compile_with_the_project_flags(core):
    # nogil keeps the UI thread free while a kernel runs; the flag set keeps NaN checks working
    options = core.targetoptions
    assert options["nogil"] is True
    assert options["fastmath"] == _flags.FASTMATH
    # numba takes `cache` out of targetoptions and turns it into an on-disk cache object.
    assert isinstance(core._cache, FunctionCache)


def test_warmup_compiles_float32_and_float64():
    kernels.warmup(np.float32)
    kernels.warmup(np.float64)
