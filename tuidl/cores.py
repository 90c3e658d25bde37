"""How many threads training uses: `--threads N`, else `TUIDL_THREADS`, else the command's default.

Defaults: `tuidl run` and `tuidl bench` take every core; `tuidl compare` and `tuidl sweep` share
the cores among their local workers (2 workers on 4 cores: 2 threads each; on a `--scheduler`
cluster 1 each, its workers being one per core as a rule); the app keeps one core for the
screen. A run repeated or resumed on the same count gives the same numbers
(`tuidl.kernels.threads`).
"""

from __future__ import annotations

import os

from .errors import ConfigError
from .heap import steady_malloc

ENV = "TUIDL_THREADS"
# numba (0.45 s to import) loads only when a count is checked or used: `tuidl presets` and a
# usage error stay quick


def available() -> int:
    """The cores this process may use."""
    from .kernels import threads

    return threads.available()


def thread_count(option: int | None, default: int) -> int:
    """`--threads` if given, else TUIDL_THREADS if set, else `default`; checked against the
    threads numba can run here (one line and exit 2 otherwise)."""
    from .kernels import threads

    most = threads.most()
    if option is not None:
        where, count = "--threads", option
    elif os.environ.get(ENV, "").strip():
        raw = os.environ[ENV].strip()
        where = f"{ENV}={raw!r}"
        try:
            count = int(raw)
        except ValueError:
            raise ConfigError(
                f"{where} is not a thread count: set it to a whole number from 1 to {most}"
            ) from None
    else:
        return max(1, min(default, most))
    if not 1 <= count <= most:
        raise ConfigError(
            f"{where} must be from 1 to {most} (the cores tuidl may use here), got {count}"
        )
    return count


def per_worker(workers: int, scheduler: str | None) -> int:
    """The default threads of each run when `workers` local workers run at once."""
    if scheduler is not None:
        return 1
    return max(1, available() // max(1, workers))


def app_default() -> int:
    """The app's training: every core but the one that draws the screen."""
    return max(1, available() - 1)


def use(count: int) -> int:
    """Train on `count` threads from now on in this process, at most what numba can run here
    (a trial's count, chosen on the client, meets a worker of another machine); returns it.
    Every process that trains comes here first, so it also keeps freed buffers in the heap
    for the next step (`heap.py`)."""
    from .kernels import threads

    steady_malloc()
    count = max(1, min(count, threads.most()))
    threads.set_threads(count)
    return count
