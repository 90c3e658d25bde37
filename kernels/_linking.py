"""Each compiled core calls its own copies of the functions linked into it.

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
"""

from __future__ import annotations

import llvmlite.binding as llvm
from numba.core.codegen import CPUCodeLibrary

_emit = CPUCodeLibrary._finalize_final_module


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
    """Emit every numba library from now on with calls bound to its own linked-in copies."""
    CPUCodeLibrary._finalize_final_module = _emit_with_own_copies
