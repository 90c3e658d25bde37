"""`text:PATH`: character-level sequences for an RNN or LSTM (Karpathy's char-rnn task).

The vocabulary is the sorted set of characters in the file. Windows of T characters start
every `stride` characters (default T, no overlap), at most `n` of them from the start of the
file. x: (N, T, V) one-hot float32; y: (N, T) int64, the next character at every step (task
`sequence`, `num_outputs` = V, `class_names` = the characters).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..validate import within_memory
from .dataset import LOAD_COPIES, Raw
from .textfile import read_text_file

# memory while reading, per byte of the file: its text (up to 4 bytes a character), the
# character codes (4) and their indices into the vocabulary (8), and np.unique's sorting
READ_BYTES_PER_BYTE = 40


def load_text(path: Path, T: int, stride: int | None, n: int) -> Raw:
    text = read_text_file(path, "text", READ_BYTES_PER_BYTE, "use a smaller file")
    stride = stride or T
    if len(text) < T + 1:
        raise ConfigError(
            f"{path}: {len(text)} characters, too few for one window of T = {T} plus the next "
            "character; use a longer file or a smaller T"
        )
    # sorted unique code points are the sorted characters: the vocabulary
    codes, ids = np.unique(np.frombuffer(text.encode("utf-32-le"), "<u4"), return_inverse=True)
    vocab = [chr(code) for code in codes]
    starts = np.arange(0, len(text) - T, stride)[:n]
    try:
        within_memory(
            f"{len(starts):,} windows x T = {T} x {len(vocab)} characters, one-hot,",
            len(starts) * T * len(vocab) * 4 * LOAD_COPIES,
        )
    except ValueError as error:
        raise ConfigError(f"{path}: {error}; set a smaller n or T") from None
    steps = starts[:, None] + np.arange(T)
    x = np.zeros((len(starts), T, len(vocab)), dtype=np.float32)
    np.put_along_axis(x, ids[steps][..., None], 1.0, axis=2)
    y = ids[steps + 1]
    return Raw(x, y, "sequence", len(vocab), "onehot", f"text file {path}", class_names=vocab)
