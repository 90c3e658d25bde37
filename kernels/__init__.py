"""numba kernels (installed as tuidl.kernels): conv2d, pooling, LSTM and tanh RNN.

Every core is compiled lazily, cached on disk and releases the GIL (see `_flags.py`).
"""

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
]
