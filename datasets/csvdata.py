"""`csv:PATH`: a table of numeric features and one label column.

- Delimiter: comma, semicolon or tab (sniffed from the first lines). Blank lines are skipped.
- Header: the first row is a header when it has a non-numeric cell where the second row has a
  number (or when every cell of a lone first row is non-numeric).
- `label_column`: an index (default -1, the last column) or a header name.
- `task`: `auto` makes numeric labels that are all whole numbers (at most 100 distinct) a
  classification and other numbers a regression; text labels are always class names.
  Classes are the sorted distinct labels, numbered 0..k-1; `class_names` keeps their text.
- Every feature cell must be a number, and every number fit float32 (as must numeric labels):
  the error names the line, the column and the cell.
- The file must be a regular file small enough to parse in memory, checked before it is read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .dataset import Raw
from .textfile import read_text_file

MAX_AUTO_CLASSES = 100
# memory while parsing, per byte of the file: its text, and each cell as a str in a list per
# row (18 measured on a file of numbers)
PARSE_BYTES_PER_BYTE = 24


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) for each non-blank row."""
    smaller = "use a smaller file (fewer rows)"
    text = read_text_file(path, "csv", PARSE_BYTES_PER_BYTE, smaller, encoding="utf-8-sig")
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty; it needs rows of numbers (a header first)")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append((reader.line_num, [cell.strip() for cell in cells]))
    return rows


def has_header(rows: list[tuple[int, list[str]]]) -> bool:
    first = rows[0][1]
    if len(rows) == 1:
        return all(_number(cell) is None for cell in first)
    second = rows[1][1]
    return any(
        _number(a) is None and _number(b) is not None for a, b in zip(first, second, strict=False)
    )


def _label_index(label_column: int | str, header: list[str] | None, width: int, path: Path) -> int:
    if isinstance(label_column, str):
        if header is None:
            raise ConfigError(
                f"{path} has no header, so label_column {label_column!r} cannot be found; "
                "give the column index instead (0 for the first, -1 for the last)"
            )
        if label_column not in header:
            from ..suggest import did_you_mean

            raise ConfigError(
                f"{path} has no column {label_column!r}{did_you_mean(label_column, header)}"
            )
        return header.index(label_column)
    if not -width <= label_column < width:
        raise ConfigError(
            f"[data] label_column {label_column} is outside {path}'s {width} columns; "
            f"use 0..{width - 1} or -1 for the last"
        )
    return label_column % width


def load_csv(path: Path, label_column: int | str, task: str) -> Raw:
    """Features (N, F) float32 and labels per the module rules."""
    rows = read_rows(path)
    header = rows[0][1] if has_header(rows) else None
    body = rows[1:] if header is not None else rows
    if not body:
        raise ConfigError(f"{path}: a header but no data rows; add rows of numbers below it")
    width = len(header) if header is not None else len(body[0][1])
    if width < 2:
        raise ConfigError(f"{path}: only one column; it needs features and a label column")
    label_at = _label_index(label_column, header, width, path)
    features = np.empty((len(body), width - 1))
    labels: list[str] = []
    for i, (line, cells) in enumerate(body):
        if len(cells) != width:
            raise ConfigError(f"{path} line {line}: {len(cells)} cells, expected {width}")
        for j, cell in enumerate(cells):
            if j == label_at:
                if not cell:
                    raise ConfigError(f"{path} line {line}: the label cell is empty; fill it in")
                labels.append(cell)
                continue
            value = _number(cell)
            if value is None:
                column = f"column {j + 1}" + (f" ({header[j]!r})" if header else "")
                raise ConfigError(
                    f"{path} line {line}, {column}: {cell!r} is not a number; "
                    "features must be numeric (fix the cell, or set label_column)"
                )
            features[i, j if j < label_at else j - 1] = value
    with np.errstate(over="ignore"):  # a number beyond float32 is refused just below
        x = features.astype(np.float32)
    _check_finite(path, body, x, "a feature is")
    numbers = [_number(cell) for cell in labels]
    numeric = all(v is not None for v in numbers)
    source = f"CSV file {path}"
    if numeric:
        values = np.array(numbers, dtype=np.float64)
        with np.errstate(over="ignore"):
            _check_finite(path, body, values.astype(np.float32), "the label is")
    if numeric and task != "classification":
        whole = bool(np.all(values == np.round(values)))
        if task == "regression" or not whole or len(np.unique(values)) > MAX_AUTO_CLASSES:
            return Raw(x, values[:, None], "regression", 1, "flat", source)
    if task == "regression":
        raise ConfigError(f"{path}: task = 'regression' needs numeric labels")
    if numeric:
        classes, y = np.unique(values, return_inverse=True)
        names = [f"{v:g}" for v in classes]
    else:
        names_array, y = np.unique(np.array(labels), return_inverse=True)
        names = [str(v) for v in names_array]
    return Raw(
        x,
        y.astype(np.int64),
        "classification",
        len(names),
        "flat",
        source,
        class_names=names,
    )


def _check_finite(path: Path, body: list[tuple[int, list[str]]], a: np.ndarray, what: str) -> None:
    """A ConfigError naming the first line where `a` (float32, a row per line of `body`) is
    inf or nan: written so, or a number beyond float32's range (3.4e38) in the file."""
    bad = ~np.isfinite(a)
    if bad.any():
        line = body[int(np.argwhere(bad)[0, 0])][0]
        raise ConfigError(
            f"{path} line {line}: {what} inf or nan, or beyond float32 (3.4e38); use finite numbers"
        )
