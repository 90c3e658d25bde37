"""Each compiled core calls its own copies of the functions linked into it, optimized once.

numba links a jitted callee into its caller's module as a `linkonce_odr` copy and optimizes the
whole module again, and the loader binds each call to the first definition of that name in the
process. With the cores' fast-math flags (`reassoc`, `contract`) a copy optimized inside its
caller may round differently from the callee's own library, so the numbers a core gave
depended on what the process had compiled or loaded before: the run that compiled winograd's
forward (its callee `_input_core` compiled first, on its own) and every later run loading it
from numba's cache (the caller's copy) differed in the last bits of one entry of the input
transform, and a whole training run differed with it.

`own_copies()` makes those copies internal while the object code is emitted, so every call
binds to the caller's own copy: the code numba's cache stores, the same whether a core was
compiled in this process or loaded, in any order. The optimizer still sees `linkonce_odr` (the
same inlining and compile time), and the linkage is restored afterwards for libraries that link
this one in turn. numba's disk cache does not notice a change here: delete the kernels'
`__pycache__` after one.

`own_copies()` also leaves unoptimized the libraries numba builds only to link into a
parallel core: a `prange` loop's body (`__numba_parfor_gufunc_*`) and the two wrappers that
launch it on numba's threads. Each had the whole optimizer run over everything linked into it,
the block function it calls included, and the core's module then ran it over all of it again:
four full optimizations of the same code, where the core's own is the only one whose code runs
(every call binds to the core's copies, above). Their code is still emitted, as numba needs
their globals. An LSTM forward core then took 2.8-3.9 s to compile instead of 4.7-6.6.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from numba.core.codegen import CPUCodeLibrary

_emit = CPUCodeLibrary._finalize_final_module
_optimize = CPUCodeLibrary._optimize_final_module

# names numba gives the libraries of a parallel loop's body and its two launch wrappers
# (numba/parfors/parfor_lowering.py, numba/np/ufunc/wrappers.py and parallel.py)
_LINKED_ONLY = (
    "__numba_parfor_gufunc_",
    "<numba.np.ufunc.wrappers._GufuncWrapper",
    "parallelgufuncwrapper",
)


def _optimize_unless_linked_only(library: CPUCodeLibrary) -> None:
    if not library.name.startswith(_LINKED_ONLY):
        _optimize(library)


def _emit_with_own_copies(library: CPUCodeLibrary) -> None:
    module = library._final_module
    copies = [
        fn
        for fn in module.functions
        if not fn.is_declaration and fn.linkage == llvm.Linkage.linkonce_odr
    ]
    for fn in copies:
        fn.linkage = "internal"
    try:
        _emit(library)
    finally:
        for fn in copies:
            fn.linkage = "linkonce_odr"


def own_copies() -> None:
    """Emit every numba library from now on with calls bound to its own linked-in copies, and
    optimize a parallel core's code once, in the core's own library."""
    CPUCodeLibrary._finalize_final_module = _emit_with_own_copies
    CPUCodeLibrary._optimize_final_module = _optimize_unless_linked_only
