"""Edits that damage a run directory as a hand edit, a failing disk or a killed process
would, for the tests that show tuidl refusing or mending them."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np


def contents(run_dir: Path) -> dict[str, bytes | str]:
    """Every entry of `run_dir`: a file's bytes, or what else it is."""
    found: dict[str, bytes | str] = {}
    for path in sorted(run_dir.iterdir()):
        if path.is_symlink():
            found[path.name] = f"link to {os.readlink(path)}"
        elif path.is_dir():
            found[path.name] = "folder"
        elif path.is_fifo():
            found[path.name] = "pipe"
        else:
            found[path.name] = path.read_bytes()
    return found


def insert_line(text: bytes):
    """An edit of metrics.jsonl: `text` as its third line, among the lines the checkpoint has."""

    def edit(path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join([*lines[:2], text, *lines[2:]]))

    return edit


def make_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def make_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def make_dangling_link(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent.parent / "elsewhere.jsonl")


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def set_entries(changes: dict):
    """An edit of checkpoint.npz: entries replaced (a function of the old value, or the new
    one), None drops one."""

    def edit(path: Path) -> None:
        arrays = arrays_of(path)
        for key, value in changes.items():
            if value is None:
                del arrays[key]
            else:
                arrays[key] = value(arrays[key]) if callable(value) else np.asarray(value)
        with open(path, "wb") as file:
            np.savez(file, **arrays)

    return edit


def claim_elements(count: int):
    """An edit of checkpoint.npz: extra/order's header claims `count` elements."""

    def edit(path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<i8", "fortran_order": False, "shape": (count,)}
        )
        members["extra/order.npy"] = header.getvalue() + bytes(64)
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)

    return edit


def compressed(path: Path) -> None:
    arrays = arrays_of(path)
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)


def with_objects(path: Path) -> None:
    arrays = arrays_of(path)
    arrays["extra/order"] = np.array([{"a": 1}], dtype=object)
    with open(path, "wb") as file:
        np.savez(file, **arrays)
