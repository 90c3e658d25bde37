"""Reading a user's text file (`csv:`, `text:`) whole, once its size is known to fit."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..validate import file_size, size_text, within_memory


def read_text_file(
    path: Path, scheme: str, bytes_per_byte: int, smaller: str, encoding: str = "utf-8"
) -> str:
    """The text of the regular file at `path`, refused in one line when it is no regular file,
    when reading it would take more memory than the machine has (`bytes_per_byte` of working
    memory per byte of file), or when it is not UTF-8.

    Args:
        scheme: the data source's prefix, `csv` or `text`, for the messages.
        smaller: the fix for a file too large, e.g. "use a smaller file (fewer rows)".
    """
    try:
        size = file_size(path)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}; check the path after '{scheme}:'") from None
    try:
        within_memory(f"reading its {size_text(size)}", size * bytes_per_byte)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}; {smaller}") from None
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from None
