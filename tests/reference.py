"""Slow, obvious numpy references for the kernels, computed in float64.

Convolution is a sum over kernel taps of strided slices of the padded input (the im2col idea of
Deep Learning from Scratch `common/util.py`, one tap at a time); pooling loops over windows.
"""

from __future__ import annotations

import numpy as np


def output_size(
    size: int, kernel: int, stride: int, pad_before: int = 0, pad_after: int = 0
) -> int:
    return (size + pad_before + pad_after - kernel) // stride + 1


def _window(k: int, stride: int, out: int) -> slice:
    """Rows (or columns) of the padded input that tap k reads, one per output."""
    return slice(k, k + stride * (out - 1) + 1, stride)


def conv2d_forward(x, W, b, stride, pad):
    """y[n, f, i, j] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw] * xp[n, c, i*s + kh, j*s + kw]."""
    x, W, b = (np.asarray(a, np.float64) for a in (x, W, b))
    top, bottom, left, right = pad
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    F, C, KH, KW = W.shape
    OH = output_size(x.shape[2], KH, stride, top, bottom)
    OW = output_size(x.shape[3], KW, stride, left, right)
    y = np.zeros((x.shape[0], F, OH, OW)) + b[None, :, None, None]
    for kh in range(KH):
        for kw in range(KW):
            patch = xp[:, :, _window(kh, stride, OH), _window(kw, stride, OW)]
            y += np.einsum("nchw,fc->nfhw", patch, W[:, :, kh, kw])
    return y


def conv2d_backward(dy, x, W, stride, pad):
    """(dx, dW, db) of `conv2d_forward`: each tap's slice gets back what it contributed."""
    dy, x, W = (np.asarray(a, np.float64) for a in (dy, x, W))
    top, bottom, left, right = pad
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    F, C, KH, KW = W.shape
    OH, OW = dy.shape[2:]
    for kh in range(KH):
        for kw in range(KW):
            rows, cols = _window(kh, stride, OH), _window(kw, stride, OW)
            dW[:, :, kh, kw] = np.einsum("nfhw,nchw->fc", dy, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dy, W[:, :, kh, kw])
    H, Wd = x.shape[2:]
    dx = dxp[:, :, top : top + H, left : left + Wd]
    return dx, dW, dy.sum(axis=(0, 2, 3))


def _windows(x_shape, size, stride):
    H, W = x_shape[2:]
    for i in range(output_size(H, size, stride)):
        for j in range(output_size(W, size, stride)):
            yield i, j, slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)


def maxpool2d_forward(x, size, stride):
    """y = max of each window; argmax = flat index h*W + w in the plane of the first maximum."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    OH, OW = output_size(H, size, stride), output_size(W, size, stride)
    y = np.empty((N, C, OH, OW))
    argmax = np.empty((N, C, OH, OW), np.int64)
    for i, j, rows, cols in _windows(x.shape, size, stride):
        window = x[:, :, rows, cols].reshape(N, C, -1)
        k = window.argmax(axis=-1)  # numpy's argmax returns the first maximum, row-major
        y[:, :, i, j] = np.take_along_axis(window, k[..., None], -1)[..., 0]
        argmax[:, :, i, j] = (i * stride + k // size) * W + j * stride + k % size
    return y, argmax


def maxpool2d_backward(dy, x, size, stride):
    """Each dy goes to the first maximum of its window (summed where windows overlap)."""
    dy, x = np.asarray(dy, np.float64), np.asarray(x, np.float64)
    N, C = x.shape[:2]
    dx = np.zeros_like(x)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i, j, rows, cols in _windows(x.shape, size, stride):
        k = x[:, :, rows, cols].reshape(N, C, -1).argmax(axis=-1)
        dx[n, c, rows.start + k // size, cols.start + k % size] += dy[:, :, i, j]
    return dx


def avgpool2d_forward(x, size, stride):
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    y = np.empty((N, C, output_size(H, size, stride), output_size(W, size, stride)))
    for i, j, rows, cols in _windows(x.shape, size, stride):
        y[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return y


def avgpool2d_backward(dy, x_shape, size, stride):
    dy = np.asarray(dy, np.float64)
    dx = np.zeros(x_shape)
    for i, j, rows, cols in _windows(x_shape, size, stride):
        dx[:, :, rows, cols] += dy[:, :, i, j, None, None] / (size * size)
    return dx
