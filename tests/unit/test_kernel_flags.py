"""Every numba core in tuidl.kernels compiles with the project's flags.

The kernel modules are discovered, not listed, so a new module's cores are checked too.
"""

import importlib
import pkgutil

import pytest
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from tuidl import kernels
from tuidl.kernels import _flags


def kernel_modules():
    return [
        importlib.import_module(f"{kernels.__name__}.{info.name}")
        for info in pkgutil.iter_modules(kernels.__path__)
    ]


def cores():
    """Every numba dispatcher defined (not just imported) in a kernel module."""
    return [
        obj
        for module in kernel_modules()
        for _, obj in sorted(vars(module).items())
        if isinstance(obj, Dispatcher) and obj.__module__ == module.__name__
    ]


CORES = cores()


def test_discovery_finds_the_cores_of_every_kernel_module():
    # guards the check below against passing on an empty or partial list
    modules = {core.__module__.rsplit(".", 1)[1] for core in CORES}
    assert {
        "blas",
        "direct",
        "im2col",
        "lstm",
        "norms",
        "pool2d",
        "rnn",
        "winograd_tiles",
    } <= modules


@pytest.mark.parametrize("core", CORES, ids=lambda core: core.__module__ + "." + core.__name__)
def test_cores_compile_with_the_project_flags(core):
    # nogil keeps the UI thread free while a kernel runs; the flag set keeps NaN checks working
    options = core.targetoptions
    assert options.get("nogil") is True
    assert options.get("fastmath") == _flags.FASTMATH
    # numba takes `cache` out of targetoptions and turns it into an on-disk cache object.
    assert isinstance(core._cache, FunctionCache)
