"""Lines of a `metrics.jsonl` written by someone else, checked before a view shows them.

`tuidl view` reads files that may be damaged or hand-edited. `parse_line` turns one line into
a record, with the fields a view draws checked and NaN/inf (stored as the strings "nan", "inf",
"-inf", since JSON has no such numbers) back as floats; a line a view cannot draw raises
`DamagedLine`, and a well-formed line of a kind no view shows gives None.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..histograms import histogram_problem
from .messages import AlertRaised, EpochEnded, PretrainEpochEnded, Record, StepLogged

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class DamagedLine(ValueError):
    """A metrics line a view cannot draw."""


def parse_line(source: str, raw: bytes) -> Record | None:
    """The record of one line of run `source` (without its newline).

    Raises:
        DamagedLine: not UTF-8 JSON, not an object, or a field of the wrong kind.
    """
    try:
        line = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DamagedLine(f"not a JSON line: {error}") from None
    if not isinstance(line, dict):
        raise DamagedLine("not a JSON object")
    kind = line.get("kind")
    if kind == "step":
        _fields(line, ints=("step",), numbers=("loss", "epoch", "lr", "time"))
        for key in ("grad_norm", "update_ratio"):
            _layer_numbers(line, key)
        return StepLogged(source, line)
    if kind == "epoch":
        _fields(line, ints=("epoch", "step"), numbers=EPOCH_NUMBERS)
        act = line.get("act", {})
        if not isinstance(act, dict) or not all(isinstance(v, dict) for v in act.values()):
            raise DamagedLine("act must map layers to statistics")
        for stats in act.values():
            _fields(stats, ints=(), numbers=tuple(stats))
        _check_histograms(line.get("hist", {}))
        return EpochEnded(source, line)
    if kind == "pretrain":
        _fields(line, ints=("epoch", "epochs"), numbers=("recon_error",))
        if not isinstance(line.get("layer"), str):
            raise DamagedLine("layer must be a name")
        return PretrainEpochEnded(source, line)
    if kind == "alert":
        _fields(line, ints=("step",), numbers=("epoch", "value", "threshold"))
        for key in ("alert", "layer", "message"):
            if not isinstance(line.get(key), str):
                raise DamagedLine(f"an alert's {key} must be text")
        if not isinstance(line.get("cleared", False), bool):
            raise DamagedLine("an alert's cleared must be true or false")
        return AlertRaised(source, line)
    return None


EPOCH_NUMBERS = ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "time")


def read_records(path: Path, source: str) -> list[Record]:
    """The records of every whole, undamaged line of the metrics file at `path`."""
    with open(path, "rb") as file:
        lines = file.read().split(b"\n")[:-1]  # the last piece has no newline yet
    records = []
    for raw in lines:
        try:
            record = parse_line(source, raw)
        except DamagedLine:
            continue
        if record is not None:
            records.append(record)
    return records


def _number(value: Any) -> float | None:
    """`value` as a float (the writer's non-finite strings too), or None if it is none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return NON_FINITE.get(value)
    return None


def _fields(line: dict[str, Any], ints: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    """Check (and convert in place) required whole numbers and optional numbers."""
    for key in ints:
        value = line.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DamagedLine(f"{key} must be a whole number >= 0, got {value!r}")
    for key in numbers:
        if key in line:
            value = _number(line[key])
            if value is None:
                raise DamagedLine(f"{key} must be a number, got {line[key]!r}")
            line[key] = value
    if "loss" in numbers and "loss" not in line:
        raise DamagedLine("a step line needs its loss")


def _check_histograms(hist: Any) -> None:
    """An epoch line's `hist`: kind -> layer -> a whole histogram (`tuidl.histograms`)."""
    if not isinstance(hist, dict) or not all(isinstance(v, dict) for v in hist.values()):
        raise DamagedLine("hist must map kinds to layers' histograms")
    for layers in hist.values():
        for record in layers.values():
            problem = histogram_problem(record)
            if problem:
                raise DamagedLine(problem)


def _layer_numbers(line: dict[str, Any], key: str) -> None:
    table = line.get(key, {})
    if not isinstance(table, dict):
        raise DamagedLine(f"{key} must map layers to numbers")
    _fields(table, ints=(), numbers=tuple(table))
