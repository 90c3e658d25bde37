"""PyTorch-CPU counterparts for `tuidl bench`; imported only when torch is importable.

torch is a benchmark-only extra, never a dependency of tuidl. The fair PyTorch way: eager
`F.conv2d` / `F.max_pool2d` / `F.avg_pool2d` / `F.linear` / `nn.LSTM`, backward via
`torch.autograd.grad(out, inputs, g)` (nothing accumulates into `.grad`), float32. Each kernel
builder returns a zero-argument callable doing forward and backward and returning the outputs
and gradients as tensors in tuidl's layouts (transposed views where PyTorch stores weights the
other way round), so the harness compares them with the numpy reference as they are.

The end-to-end loops (`TorchLoop`) train the same networks as the `mnist-lenet` and
`adding-lstm` presets on the same arrays: LeNet with SGD momentum, LSTM(2 -> 64) + Linear with
Adam and gradient-norm clipping at 1.0 as the preset does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Run = Callable[[], dict[str, torch.Tensor]]


def version() -> str:
    return torch.__version__


def set_threads(threads: int) -> None:
    """Intra-op threads for every torch call (inter-op can be set only before first use)."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or parallel work already ran
        pass


def _tensor(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).requires_grad_(grad)


def conv2d(x, W, b, stride: int, pad: tuple[int, int, int, int], dy, need_dx: bool) -> Run:
    """F.conv2d forward + autograd backward; without `need_dx` x does not require grad."""
    top, bottom, left, right = pad
    if top != bottom or left != right:
        raise ValueError(f"torch conv2d reference needs symmetric padding, got {pad}")
    xt, wt, bt, g = _tensor(x, need_dx), _tensor(W, True), _tensor(b, True), _tensor(dy)
    inputs = [xt, wt, bt] if need_dx else [wt, bt]

    def run() -> dict[str, torch.Tensor]:
        y = F.conv2d(xt, wt, bt, stride=stride, padding=(top, left))
        grads = torch.autograd.grad(y, inputs, g)
        out = {"y": y, "dW": grads[-2], "db": grads[-1]}
        if need_dx:
            out["dx"] = grads[0]
        return out

    return run


def maxpool2x2(x, dy) -> Run:
    xt, g = _tensor(x, True), _tensor(dy)

    def run() -> dict[str, torch.Tensor]:
        y = F.max_pool2d(xt, 2, 2)
        return {"y": y, "dx": torch.autograd.grad(y, [xt], g)[0]}

    return run


def avgpool2x2(x, dy) -> Run:
    xt, g = _tensor(x, True), _tensor(dy)

    def run() -> dict[str, torch.Tensor]:
        y = F.avg_pool2d(xt, 2, 2)
        return {"y": y, "dx": torch.autograd.grad(y, [xt], g)[0]}

    return run


def dense(x, W, b, dy) -> Run:
    """F.linear with PyTorch's (out, in) weight; dW is returned transposed to tuidl's (in, out)."""
    xt, wt, bt, g = _tensor(x, True), _tensor(W.T, True), _tensor(b, True), _tensor(dy)

    def run() -> dict[str, torch.Tensor]:
        y = F.linear(xt, wt, bt)
        dx, dw, db = torch.autograd.grad(y, [xt, wt, bt], g)
        return {"y": y, "dx": dx, "dW": dw.T, "db": db}

    return run


def lstm(x, W_x, W_h, b, dh) -> Run:
    """nn.LSTM (sequence-first, as cuDNN/oneDNN prefer) with tuidl's weights copied in.

    PyTorch's weight_ih (4H, D) and weight_hh (4H, H) are W_x^T and W_h^T (same gate order
    i, f, g, o); b goes to bias_ih and bias_hh is zero, so db = d bias_ih.
    """
    N, T, D = x.shape
    H = W_h.shape[0]
    module = nn.LSTM(D, H)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(W_x.T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(W_h.T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(b))
        module.bias_hh_l0.zero_()
    params = [module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0]
    xt = _tensor(x.transpose(1, 0, 2), True)
    g = _tensor(dh.transpose(1, 0, 2))

    def run() -> dict[str, torch.Tensor]:
        y, _ = module(xt)
        dx, dw_ih, dw_hh, db_ih, _ = torch.autograd.grad(y, [xt, *params], g)
        return {
            "y": y.transpose(0, 1),
            "dx": dx.transpose(0, 1),
            "dW_x": dw_ih.T,
            "dW_h": dw_hh.T,
            "db": db_ih,
        }

    return run


# ------------------------------------------------------------------------- end to end


class LeNet(nn.Module):
    """The mnist-lenet preset: conv(1->8, 5x5, same)-relu-pool-conv(8->16, 5x5)-relu-pool-
    dense(400->120)-relu-dense(120->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class AddingLSTM(nn.Module):
    """The adding-lstm preset: LSTM(2 -> 64), last hidden state, Linear(64 -> 1)."""

    def __init__(self, inputs: int = 2, hidden: int = 64) -> None:
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)
        return self.out(h[:, -1])


class TorchLoop:
    """A plain PyTorch training loop over numpy arrays, one epoch per `run_epoch()`.

    Args:
        model: "lenet" (cross-entropy, SGD lr 0.01 momentum 0.9) or "adding" (MSE, Adam lr
            0.01, gradient norm clipped to 1.0).
        x, y: the training arrays (the same ones tuidl's trainer gets).
        batch_size: samples per step; the order is reshuffled every epoch from `seed`.
    """

    def __init__(self, model: str, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0):
        torch.manual_seed(seed)
        self.kind = model
        if model == "lenet":
            self.net = LeNet()
            self.opt = torch.optim.SGD(self.net.parameters(), lr=0.01, momentum=0.9)
            self.y = torch.from_numpy(np.ascontiguousarray(y, np.int64))
        elif model == "adding":
            self.net = AddingLSTM(x.shape[2], 64)
            self.opt = torch.optim.Adam(self.net.parameters(), lr=0.01)
            self.y = torch.from_numpy(np.ascontiguousarray(y, np.float32))
        else:
            raise ValueError(f"unknown end-to-end model {model!r}")
        self.x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.losses: list[float] = []

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def run_epoch(self) -> float:
        """Train one epoch; returns its wall seconds (the loop only, nothing evaluated)."""
        order = torch.from_numpy(self.rng.permutation(len(self.x)))
        net, opt, bs = self.net, self.opt, self.batch_size
        total = torch.zeros(())
        start = time.perf_counter()
        for k in range(0, len(order), bs):
            index = order[k : k + bs]
            xb, yb = self.x[index], self.y[index]
            opt.zero_grad(set_to_none=True)
            out = net(xb)
            if self.kind == "lenet":
                loss = F.cross_entropy(out, yb)
            else:
                loss = F.mse_loss(out, yb)
            loss.backward()
            if self.kind == "adding":
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += loss.detach() * len(index)
        seconds = time.perf_counter() - start
        self.losses.append(float(total) / len(order))
        return seconds
