"""numba kernels (installed as tuidl.kernels)."""
