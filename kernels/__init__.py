"""numba kernels (installed as tuidl.kernels): conv2d, pooling, LSTM and tanh RNN.

Every core is compiled lazily, cached on disk and releases the GIL (see `_flags.py`).
`warmup()` compiles (or loads from the cache) the float32 variants that training uses, so the
first training step does not pay for it.
"""

import numpy as np

from . import conv2d, pool2d
from .conv2d import conv2d_backward, conv2d_forward, conv2d_forward_train
from .lstm import lstm_backward, lstm_forward
from .pool2d import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward
from .rnn import rnn_backward, rnn_forward

__all__ = [
    "avgpool2d_backward",
    "avgpool2d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv2d_forward_train",
    "lstm_backward",
    "lstm_forward",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "rnn_backward",
    "rnn_forward",
    "warmup",
]


def warmup(dtype: np.dtype = np.float32) -> None:
    """Compile or load every kernel for `dtype` on tiny inputs (about 1 s from a warm cache)."""
    conv2d.warmup(dtype)
    pool2d.warmup(dtype)
    x = np.zeros((1, 2, 1), dtype)
    for forward, backward, gates in (
        (lstm_forward, lstm_backward, 4),
        (rnn_forward, rnn_backward, 1),
    ):
        W_x, W_h, b = (
            np.zeros((1, gates), dtype),
            np.zeros((1, gates), dtype),
            np.zeros(gates, dtype),
        )
        h, cache = forward(x, W_x, W_h, b)
        backward(np.zeros_like(h), x, W_x, W_h, cache, True)
