"""Generated sequence tasks, laid out (N, T, D) as the RNN and LSTM layers expect.

- `sine`: regression. x: (n, window, 1) samples of sin(w t + phi) plus noise, with a random
  frequency w in [0.1, 0.6] rad/step and phase per sample; y: (n, 1) the next clean value.
- `adding`: regression (Hochreiter & Schmidhuber 1997, experiment 4; Le et al. 2015). x: (n, T, 2),
  channel 0 uniform in [0, 1], channel 1 marks exactly two steps, one in each half; y: (n, 1)
  the sum of the two marked values. Always guessing 1.0 gives MSE 1/6 ~ 0.167: a model beats
  that only by carrying the first marked value across T/2 steps.
- `reber`: sequence labelling on the embedded Reber grammar (Hochreiter & Schmidhuber 1997,
  experiment 1). x: (n, T, 7) one-hot symbols of `BTSXPVE`, zero rows after the string ends;
  y: (n, T) int64, the next symbol at every step, and `E` from the last symbol on (padding).
  Strings longer than T are redrawn. The grammar branches, so per-step accuracy is below 100%
  even for a perfect model; the long-range part is the second-to-last symbol, which must
  repeat the second one (T or P) across the whole inner string.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

REBER_SYMBOLS = "BTSXPVE"
# Reber grammar (Reber 1967): node -> [(symbol, next node)]; node 5 is the end (then E).
REBER_GRAPH = {
    0: [("T", 1), ("P", 2)],
    1: [("S", 1), ("X", 3)],
    2: [("T", 2), ("V", 4)],
    3: [("X", 2), ("S", 5)],
    4: [("P", 3), ("V", 5)],
}
REBER_MIN_T = 9  # the shortest embedded string, e.g. BTBTXSETE
REBER_MAX_DRAWS = 1000  # strings drawn per sample before T is declared too short


def sine(n: int, window: int, noise: float, rng: np.random.Generator):
    freq = rng.uniform(0.1, 0.6, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    t = np.arange(window + 1)
    wave = np.sin(freq * t + phase)
    x = wave[:, :window] + noise * rng.standard_normal((n, window))
    return x[:, :, None].astype(np.float32), wave[:, window:].astype(np.float32)


def adding(n: int, T: int, rng: np.random.Generator):
    values = rng.uniform(0, 1, (n, T))
    half = T // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, T, n)
    marks = np.zeros((n, T))
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=2).astype(np.float32)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return x, y


def reber_string(rng: np.random.Generator) -> str:
    """One string of the (plain) Reber grammar, B ... E."""
    out, node = ["B"], 0
    while node != 5:
        symbol, node = REBER_GRAPH[node][rng.integers(2)]
        out.append(symbol)
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """B, then T or P, a Reber string, the same T or P again, E."""
    wrap = "TP"[rng.integers(2)]
    return f"B{wrap}{reber_string(rng)}{wrap}E"


def reber(n: int, T: int, rng: np.random.Generator):
    if T < REBER_MIN_T:
        raise ConfigError(f"[data] T for reber must be at least {REBER_MIN_T}, got {T}")
    x = np.zeros((n, T, len(REBER_SYMBOLS)), dtype=np.float32)
    y = np.full((n, T), REBER_SYMBOLS.index("E"), dtype=np.int64)
    codes = {s: i for i, s in enumerate(REBER_SYMBOLS)}
    for i in range(n):
        for _ in range(REBER_MAX_DRAWS):
            string = embedded_reber_string(rng)
            if len(string) <= T:
                break
        else:  # pragma: no cover - needs T near the minimum and very bad luck
            raise ConfigError(f"[data] T = {T} is too short for reber strings; use T >= 16")
        index = [codes[s] for s in string]
        x[i, np.arange(len(index)), index] = 1.0
        y[i, : len(index) - 1] = index[1:]
    return x, y


def decode_reber(x: np.ndarray) -> str:
    """The symbols of one one-hot sample (T, 7), padding dropped."""
    present = x.max(axis=-1) > 0
    return "".join(REBER_SYMBOLS[i] for i in x[present].argmax(axis=-1))
