"""`fetch` against a local HTTP server and a local file:// mirror: no test needs the network."""

import functools
import hashlib
import http.server
import os
import threading

import pytest

from tuidl.datasets import fetch as fetch_module
from tuidl.datasets.fetch import CHECKSUMS, FetchProgress, fetch, mirrors_for
from tuidl.errors import ConfigError

FILES = {"a-images.gz": b"\x1f\x8b" + bytes(range(256)) * 300, "b-labels.gz": b"labels" * 10}


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Local servers are reached directly even where an http_proxy is configured."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    """An http.server on 127.0.0.1 serving FILES from a fixture folder; yields its base URL."""
    root = tmp_path / "mirror"
    root.mkdir()
    for name, data in FILES.items():
        (root / name).write_bytes(data)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


class Recorder(FetchProgress):
    def __init__(self):
        self.events = []

    def start(self, file, total):
        self.events.append(("start", file, total))

    def advance(self, nbytes):
        self.events.append(("advance", nbytes))

    def finish(self, file, status):
        self.events.append(("finish", file, status))


def test_downloads_verifies_and_keeps_present_files(mirror, tmp_path):
    checksums = {name: md5(data) for name, data in FILES.items()}
    dest = tmp_path / "data" / "mnist"
    progress = Recorder()
    paths = fetch("mnist", dest, mirrors=[mirror], checksums=checksums, progress=progress)
    assert [p.name for p in paths] == list(FILES)
    assert all((dest / name).read_bytes() == data for name, data in FILES.items())
    assert ("start", "a-images.gz", len(FILES["a-images.gz"])) in progress.events
    arrived = sum(e[1] for e in progress.events if e[0] == "advance")
    assert arrived == sum(len(d) for d in FILES.values())
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # no temporary files left
    umask = os.umask(0)
    os.umask(umask)
    assert (dest / "a-images.gz").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    again = Recorder()
    fetch("mnist", dest, mirrors=["http://127.0.0.1:9/"], checksums=checksums, progress=again)
    assert [e[2] for e in again.events] == ["present", "present"]  # no download attempted


def test_a_damaged_local_file_is_downloaded_again(mirror, tmp_path):
    checksums = {name: md5(data) for name, data in FILES.items()}
    (tmp_path / "a-images.gz").write_bytes(b"half a file")
    fetch("mnist", tmp_path, mirrors=[mirror], checksums=checksums)
    assert (tmp_path / "a-images.gz").read_bytes() == FILES["a-images.gz"]


def test_bad_checksum_leaves_nothing(mirror, tmp_path):
    dest = tmp_path / "new" / "mnist"
    checksums = {"a-images.gz": "0" * 32}
    with pytest.raises(ConfigError, match=r"has md5 \w+, expected 0{32}") as error:
        fetch("mnist", dest, mirrors=[mirror], checksums=checksums)
    assert str(dest) in str(error.value)
    assert not (tmp_path / "new").exists()  # folders it made are gone again


def test_falls_back_to_the_next_mirror(mirror, tmp_path):
    checksums = {"b-labels.gz": md5(FILES["b-labels.gz"])}
    fetch("mnist", tmp_path, mirrors=["http://127.0.0.1:9/", mirror], checksums=checksums)
    assert (tmp_path / "b-labels.gz").read_bytes() == FILES["b-labels.gz"]


def test_interrupt_mid_download_leaves_no_partial_file(mirror, tmp_path):
    class Interrupt(FetchProgress):
        def advance(self, nbytes):
            raise KeyboardInterrupt

    checksums = {"a-images.gz": md5(FILES["a-images.gz"])}
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(KeyboardInterrupt):
        fetch("mnist", dest, mirrors=[mirror], checksums=checksums, progress=Interrupt())
    assert list(dest.iterdir()) == []


def test_file_urls_and_the_mirror_variable(tmp_path, monkeypatch):
    (tmp_path / "m" / "fashion-mnist").mkdir(parents=True)
    (tmp_path / "m" / "fashion-mnist" / "x.gz").write_bytes(b"xyz")
    monkeypatch.setenv("TUIDL_MIRROR", (tmp_path / "m").as_uri())
    assert mirrors_for("fashion-mnist") == [f"{(tmp_path / 'm').as_uri()}/fashion-mnist/"]
    fetch("fashion-mnist", tmp_path / "out", checksums={"x.gz": md5(b"xyz")})
    assert (tmp_path / "out" / "x.gz").read_bytes() == b"xyz"
    monkeypatch.delenv("TUIDL_MIRROR")
    assert mirrors_for("mnist") == fetch_module.MIRRORS["mnist"]


def test_offline_is_one_line_naming_the_folder(tmp_path):
    with pytest.raises(ConfigError) as error:
        fetch("mnist", tmp_path / "mnist", mirrors=["http://127.0.0.1:9/"])
    message = str(error.value)
    assert "Connection refused" in message and str(tmp_path / "mnist") in message
    assert "\n" not in message and not (tmp_path / "mnist").exists()


def test_known_checksums():
    assert CHECKSUMS["mnist"]["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert CHECKSUMS["mnist"]["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"
    for files in CHECKSUMS.values():
        assert len(files) == 4 and all(len(v) == 32 for v in files.values())


def test_checksums_match_the_real_test_files():
    from pathlib import Path

    folder = Path(os.environ.get("TUIDL_DATA", "/nonexistent")) / "mnist"
    if not (folder / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST test files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert fetch_module.md5_of(folder / name) == CHECKSUMS["mnist"][name]
