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
from .dataset import Raw

MAX_BYTES = 1 << 30  # one-hot inputs above this are refused rather than swapping the machine


def load_text(path: Path, T: int, stride: int | None, n: int) -> Raw:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; check the path after 'text:'") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text ({error})") from None
    stride = stride or T
    if len(text) < T + 1:
        raise ConfigError(
            f"{path}: {len(text)} characters, too few for one window of T = {T} plus the next "
            "character; use a longer file or a smaller T"
        )
    vocab = sorted(set(text))
    codes = np.array([ord(c) for c in text])
    lookup = {ord(c): i for i, c in enumerate(vocab)}
    ids = np.fromiter((lookup[c] for c in codes), dtype=np.int64, count=len(codes))
    starts = np.arange(0, len(text) - T, stride)[:n]
    if len(starts) * T * len(vocab) * 4 > MAX_BYTES:
        raise ConfigError(
            f"{path}: {len(starts)} windows x T = {T} x {len(vocab)} characters would need "
            f"{len(starts) * T * len(vocab) * 4 / 2**30:.1f} GiB; set a smaller n or T"
        )
    steps = starts[:, None] + np.arange(T)
    x = np.zeros((len(starts), T, len(vocab)), dtype=np.float32)
    np.put_along_axis(x, ids[steps][..., None], 1.0, axis=2)
    y = ids[steps + 1]
    return Raw(x, y, "sequence", len(vocab), "onehot", f"text file {path}", class_names=vocab)
