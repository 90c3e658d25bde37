"""A run's per-step history in bounded memory: the loss curve (`Envelope`) and the gradient
norms per layer (`BinnedMeans`); a run's curves as the screens keep them (`RunSeries`).

spiral-mlp sends 2,500 step records a second. Kept whole, in lists, an hour of it held about
2 GB in the app, and each redraw went over all of it. Here each history is at most `limit`
entries. Consecutive steps share an entry once they would not fit, and each entry keeps what
a chart of that stretch shows: the lowest and highest loss (every spike stays on the curve),
or the mean of the log norms. The bin width doubles each time, so the cost per step stays
constant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..render.charts import extreme_picks
from ..smoothing import smooth

EPOCH_METRICS = ("train_loss", "val_loss", "train_acc", "val_acc")
LIMIT = 4096  # entries; a 160-column chart shows at most 2 points per column


def grown(array: np.ndarray, size: int) -> np.ndarray:
    """`array` with room for `size` rows (capacity doubled), rows kept."""
    if size <= len(array):
        return array
    bigger = np.empty((max(64, 2 * size), *array.shape[1:]), array.dtype)
    bigger[: len(array)] = array
    return bigger


class Envelope:
    """A growing series y(x), x increasing, kept in at most `limit` points.

    Each aligned range of `width` x units keeps only its lowest and highest point, in order
    (`width` is 1 until the points would not fit, then doubles). Non-finite values are not
    drawn and not kept, but `last` is the latest value as it came.
    """

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.width = 1.0
        self.count = 0  # points added
        self.last = math.nan
        self.last_x = math.nan
        self._latest = (math.nan, math.nan)  # the latest finite point
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y to draw: the kept points and, after them, the latest finite point (where the
        line ends, and the value a legend shows) if it is not its range's lowest or highest."""
        x, y = self.x, self.y
        if self._n and self._latest[0] > x[-1]:
            return np.append(x, self._latest[0]), np.append(y, self._latest[1])
        return x, y

    def extend(self, xs, ys) -> None:
        x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        if not len(y):
            return
        self.count += len(y)
        self.last, self.last_x = float(y[-1]), float(x[-1])
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        if not len(x):
            return
        self._latest = (float(x[-1]), float(y[-1]))
        # the last range may gain points: group its kept points again with the new ones
        start = 0
        if self._n:
            ranges = np.floor(self.x / self.width)
            start = int(np.searchsorted(ranges, ranges[-1]))
        x = np.concatenate([self.x[start:], x])
        y = np.concatenate([self.y[start:], y])
        x, y = self._extremes(x, y)
        self._n = start
        self._append(x, y)
        while self._n > self.limit:
            self.width *= 2
            x, y = self._extremes(self.x, self.y)
            self._n = 0
            self._append(x, y)

    def _extremes(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bins = np.floor(x / self.width)
        starts = np.flatnonzero(np.concatenate([[True], bins[1:] != bins[:-1]]))
        if len(starts) == len(x):  # one point per range: nothing to drop
            return x, y
        keep = extreme_picks(y, starts)
        return x[keep], y[keep]

    def _append(self, x: np.ndarray, y: np.ndarray) -> None:
        end = self._n + len(x)
        self._x, self._y = grown(self._x, end), grown(self._y, end)
        self._x[self._n : end] = x
        self._y[self._n : end] = y
        self._n = end


class BinnedMeans:
    """Rows of `columns` values, one row per step, as sums and counts of their finite values
    over bins of `width` consecutive rows, at most `limit` bins (`width` is 1 until the rows
    would not fit, then doubles)."""

    def __init__(self, columns: int, limit: int = LIMIT) -> None:
        self.limit = limit
        self.width = 1
        self.rows = 0  # rows added
        self._sums = np.zeros((0, columns))
        self._counts = np.zeros((0, columns), np.int64)

    @property
    def bins(self) -> int:
        return -(-self.rows // self.width)

    @property
    def sums(self) -> np.ndarray:
        """(bins, columns) sums of the finite values of each bin's rows."""
        return self._sums[: self.bins]

    @property
    def counts(self) -> np.ndarray:
        """(bins, columns) how many finite values each sum holds."""
        return self._counts[: self.bins]

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if not len(rows):
            return
        finite = np.isfinite(rows)
        while -(-(self.rows + len(rows)) // self.width) > self.limit:
            self._merge_pairs()
        index = (self.rows + np.arange(len(rows))) // self.width  # each new row's bin
        first, end = self.bins, int(index[-1]) + 1  # a partial last bin keeps what it has
        self._sums, self._counts = grown(self._sums, end), grown(self._counts, end)
        self._sums[first:end] = 0.0
        self._counts[first:end] = 0
        starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
        self._sums[index[starts]] += np.add.reduceat(np.where(finite, rows, 0.0), starts)
        self._counts[index[starts]] += np.add.reduceat(finite.astype(np.int64), starts)
        self.rows += len(rows)

    def _merge_pairs(self) -> None:
        bins = self.bins
        pairs = -(-bins // 2)
        sums, counts = self._sums[:bins], self._counts[:bins]
        if bins % 2:  # an odd last bin merges with an empty one
            sums = np.concatenate([sums, np.zeros((1, sums.shape[1]))])
            counts = np.concatenate([counts, np.zeros((1, counts.shape[1]), np.int64)])
        self._sums[:pairs] = sums[0::2] + sums[1::2]
        self._counts[:pairs] = counts[0::2] + counts[1::2]
        self.width *= 2


class RunSeries:
    """The curves of one run: the loss per step in bounded histories, epoch metrics as lists."""

    def __init__(self) -> None:
        self.loss = Envelope()  # the batch loss of each step
        self.smooth = Envelope()  # its exponential moving average
        # train/val loss and accuracy at each epoch's last step, bounded like the loss
        self.epochs: dict[str, Envelope] = {}
        self.last_step: dict[str, Any] | None = None
        self.last_epoch: dict[str, Any] | None = None
        self.pretrain: dict[str, tuple[list[float], list[float]]] = {}  # rbm layer: x, error
        self.pretrain_epochs = 0  # pretraining epochs seen, over all layers (the x axis)

    @property
    def steps(self) -> int:
        """Step records seen."""
        return self.loss.count

    def add_epochs(self, records: list[dict[str, Any]]) -> None:
        """Epoch records, in order."""
        for key in EPOCH_METRICS:
            mine = [record for record in records if key in record]
            if mine:
                xs = [record["step"] for record in mine]
                self.epochs.setdefault(key, Envelope()).extend(xs, [_num(r[key]) for r in mine])
        self.last_epoch = records[-1]

    def add_pretrain(self, record: dict[str, Any]) -> None:
        self.pretrain_epochs += 1
        xs, ys = self.pretrain.setdefault(record["layer"], ([], []))
        xs.append(self.pretrain_epochs)
        ys.append(_num(record["recon_error"]))

    def add_steps(self, steps: list[dict[str, Any]]) -> None:
        """Step records, in order (one numpy pass over their gradient norms)."""
        if not steps:
            return
        xs = [record["step"] for record in steps]
        losses = [_num(record["loss"]) for record in steps]
        self.loss.extend(xs, losses)
        self.smooth.extend(xs, smooth(losses, self.smooth.last))
        self.last_step = steps[-1]


def _num(value: Any) -> float:
    return float(value)  # JSON's "nan" strings too
