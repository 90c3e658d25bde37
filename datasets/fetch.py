"""`tuidl data fetch`: download MNIST / Fashion-MNIST, verify md5, write atomically.

Each file streams into a temporary file beside its destination and is renamed into place only
after its md5 matches; any error, a bad checksum or Ctrl-C removes the temporary file, so a
half-downloaded file never sits under a real name. Files already present with the right md5
are kept. Mirrors are tried in order; `$TUIDL_MIRROR` (read at call time) replaces them with
`$TUIDL_MIRROR/<name>/<file>`, for a local mirror (and for tests: `file://` URLs work).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.request
from pathlib import Path

from ..atomic import atomic_write
from ..errors import ConfigError
from .mnist import FILE_NAMES

# md5 of the gzip files. MNIST: as published with torchvision's MNIST dataset (the two t10k
# values match ../shared/datasets/README.md); Fashion-MNIST: as published in
# zalandoresearch/fashion-mnist's README and torchvision's FashionMNIST.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}
FETCHABLE = tuple(CHECKSUMS)
CHUNK = 1 << 16
TIMEOUT = 30.0


class FetchProgress:
    """Hooks for a progress display; the base class shows nothing."""

    def start(self, file: str, total: int | None) -> None:
        """A download of `file` begins; `total` bytes if the server said."""

    def advance(self, nbytes: int) -> None:
        """`nbytes` more bytes arrived."""

    def finish(self, file: str, status: str) -> None:
        """`file` is done: `downloaded` or `present` (already there, checksum good)."""


def mirrors_for(name: str) -> list[str]:
    """`$TUIDL_MIRROR/<name>/` when set, else the public mirrors."""
    base = os.environ.get("TUIDL_MIRROR")
    if base:
        return [f"{base.rstrip('/')}/{name}/"]
    return MIRRORS[name]


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    name: str,
    dest: str | os.PathLike,
    *,
    mirrors: list[str] | None = None,
    checksums: dict[str, str] | None = None,
    progress: FetchProgress | None = None,
    timeout: float = TIMEOUT,
) -> list[Path]:
    """Download `name`'s files into folder `dest`; returns their paths.

    Args:
        name: `mnist` or `fashion-mnist`.
        dest: the folder for the files (created if missing; the folders created are removed
            again if no file could be written).
        mirrors: base URLs tried in order (default: `mirrors_for(name)`).
        checksums: file name -> md5 (default: the published values in CHECKSUMS).
        progress: display hooks.
        timeout: seconds to wait on a silent connection.

    Raises:
        ConfigError: unknown name, no mirror reachable, or a checksum mismatch on every mirror;
            one line naming the folder where the files can be put by hand.
    """
    if name not in CHECKSUMS:
        from ..suggest import did_you_mean

        raise ConfigError(f"cannot fetch {name!r}{did_you_mean(name, FETCHABLE)}")
    dest = Path(dest)
    checksums = checksums if checksums is not None else CHECKSUMS[name]
    mirrors = mirrors if mirrors is not None else mirrors_for(name)
    progress = progress or FetchProgress()
    created = [folder for folder in (dest, *dest.parents) if not folder.exists()]
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {dest} ({error}); pass another --data-dir") from None
    paths = []
    try:
        for file, md5 in checksums.items():
            path = dest / file
            if path.is_file() and md5_of(path) == md5:
                progress.finish(file, "present")
            else:
                _download(name, file, md5, path, mirrors, progress, timeout)
                progress.finish(file, "downloaded")
            paths.append(path)
    finally:
        if not paths:  # nothing written: leave no empty folders behind either
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return paths


def _download(
    name: str,
    file: str,
    md5: str,
    path: Path,
    mirrors: list[str],
    progress: FetchProgress,
    timeout: float,
) -> None:
    """Try each mirror until one gives the file with the right md5."""
    problem, advice = "no mirror to download from", "set TUIDL_MIRROR, or"
    for base in mirrors:
        url = f"{base.rstrip('/')}/{file}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                progress.start(file, int(length) if length and length.isdigit() else None)
                digest = hashlib.md5(usedforsecurity=False)
                with atomic_write(path) as out:
                    os.fchmod(out.fileno(), _file_mode())  # mkstemp makes 0600; data is public
                    while block := response.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        progress.advance(len(block))
                    if digest.hexdigest() != md5:
                        raise _BadChecksum(digest.hexdigest())
            return
        except _BadChecksum as bad:
            problem = f"{url} has md5 {bad.args[0]}, expected {md5} (damaged or changed)"
            advice = "try again later, or"
        except (OSError, ValueError, http.client.HTTPException) as error:  # URLError: OSError
            reason = " ".join(str(getattr(error, "reason", None) or error).split())
            problem = f"cannot download {url} ({reason})"
            advice = "no network? download them elsewhere and"
    raise ConfigError(
        f"fetch {name}: {problem}; {advice} put {', '.join(FILE_NAMES)} in {path.parent}"
    )


def _file_mode() -> int:
    """0666 minus the umask, the mode `open()` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class _BadChecksum(Exception):
    pass
