"""The dataset catalog in-process: generators, loaders, splits, normalization, errors."""

import dataclasses
import gzip
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from tuidl import validate
from tuidl.datasets import DATASETS, Dataset, load_dataset
from tuidl.datasets import mnist as mnist_module
from tuidl.datasets.normalize import fit_normalizer
from tuidl.datasets.sequences import REBER_GRAPH, REBER_SYMBOLS, decode_reber
from tuidl.errors import ConfigError

PLANAR = {"spiral": 2, "circles": 2, "xor": 2, "gauss": 2, "moons": 2}
MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
REAL_MNIST = Path(os.environ.get("TUIDL_DATA", "/nonexistent")) / "mnist"
needs_real_mnist = pytest.mark.skipif(
    not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").exists(),
    reason="MNIST test files not found: set TUIDL_DATA to a folder with mnist/t10k-*.gz",
)


def all_arrays(ds: Dataset) -> list[np.ndarray]:
    return [
        a
        for a in (ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.x_test, ds.y_test)
        if a is not None
    ]


def same_bytes(a: Dataset, b: Dataset) -> bool:
    return all(
        x.tobytes() == y.tobytes() for x, y in zip(all_arrays(a), all_arrays(b), strict=True)
    )


def write_idx(path: Path, array: np.ndarray, code: int = 0x08) -> Path:
    data = (
        bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">i4").tobytes() + array.tobytes()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return path


def fake_mnist(folder: Path, n_train: int = 0, n_test: int = 50, seed: int = 0) -> Path:
    """A tiny MNIST-like folder: uint8 28x28 images whose mean brightness encodes the label."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        if n:
            labels = (np.arange(n) % 10).astype(np.uint8)
            images = rng.integers(0, 20, (n, 28, 28), dtype=np.uint8) + labels[:, None, None] * 20
            write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
            write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No TUIDL_DATA, and a private cache, so only the folders a test names are searched."""
    monkeypatch.delenv("TUIDL_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


# ---------------------------------------------------------------- 2D generators


@pytest.mark.parametrize("name", PLANAR)
def test_planar_shapes_dtypes_and_balance(name):
    ds = load_dataset(name, n=203, seed=1)
    assert ds.x_train.dtype == np.float32 and ds.x_val.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_val.dtype == np.int64
    assert ds.x_train.shape[1:] == ds.input_shape == (2,)
    assert len(ds.x_train) + len(ds.x_val) == 203
    assert ds.task == "classification" and ds.num_outputs == 2 and len(ds.class_names) == 2
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_val]), minlength=2)
    assert counts.tolist() == [102, 101]  # n // k each, the first n % k classes one more
    val_counts = np.bincount(ds.y_val, minlength=2)
    assert val_counts.tolist() == [20, 20]  # stratified: round(0.2 * 102), round(0.2 * 101)


@pytest.mark.parametrize("name", [*PLANAR, "sine", "adding", "reber"])
def test_generators_same_seed_same_bytes_other_seed_differs(name):
    a, b = load_dataset(name, n=64, seed=7), load_dataset(name, n=64, seed=7)
    c = load_dataset(name, n=64, seed=8)
    assert same_bytes(a, b)
    assert a.x_train.tobytes() != c.x_train.tobytes()


@pytest.mark.parametrize(
    "name, key", [("spiral", "classes"), ("spiral", "arms"), ("gauss", "classes")]
)
def test_more_classes(name, key):
    ds = load_dataset(name, n=120, seed=0, **{key: 4})
    assert ds.num_outputs == 4
    assert np.bincount(np.concatenate([ds.y_train, ds.y_val])).tolist() == [30, 30, 30, 30]


def test_labels_mean_what_they_say():
    xor = load_dataset("xor", n=400, noise=0.0, normalize="none")
    x = np.concatenate([xor.x_train, xor.x_val])
    y = np.concatenate([xor.y_train, xor.y_val])
    assert np.array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    circles = load_dataset("circles", n=400, noise=0.0, normalize="none", val_split=0)
    radius = np.hypot(*circles.x_train.T)
    assert radius[circles.y_train == 0].max() <= 0.5 + 1e-6
    assert radius[circles.y_train == 1].min() >= 0.7 - 1e-6


# ---------------------------------------------------------------- sequences


def test_sine_windows_continue_the_wave():
    ds = load_dataset("sine", n=50, window=12, noise=0.0, normalize="none", val_split=0)
    assert ds.x_train.shape == (50, 12, 1) and ds.input_shape == (12, 1)
    assert ds.y_train.shape == (50, 1) and ds.y_train.dtype == np.float32
    assert ds.task == "regression" and ds.num_outputs == 1
    x = ds.x_train[:, :, 0].astype(np.float64)
    # sin(a + w) = 2 cos(w) sin(a) - sin(a - w): one recurrence per sample, fitted on the window
    two_cos = (x[:, 2] + x[:, 0]) / x[:, 1]
    predicted = two_cos * x[:, -1] - x[:, -2]
    np.testing.assert_allclose(predicted, ds.y_train[:, 0], atol=1e-3)


def test_adding_problem_targets_are_the_marked_sums():
    ds = load_dataset("adding", n=80, T=30, normalize="none", val_split=0.25)
    assert ds.x_train.shape == (60, 30, 2) and ds.y_train.shape == (60, 1)
    assert ds.x_val.shape == (20, 30, 2) and ds.task == "regression"
    marks = ds.x_train[:, :, 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :15].sum(axis=1) == 1) and np.all(marks[:, 15:].sum(axis=1) == 1)
    sums = (ds.x_train[:, :, 0] * marks).sum(axis=1)
    np.testing.assert_allclose(sums, ds.y_train[:, 0], rtol=1e-6)


def is_reber(string: str) -> bool:
    if not (string.startswith("B") and string.endswith("E")):
        return False
    node = 0
    for symbol in string[1:-1]:
        moves = dict(REBER_GRAPH.get(node, []))
        if symbol not in moves:
            return False
        node = moves[symbol]
    return node == 5


def test_reber_strings_follow_the_embedded_grammar():
    ds = load_dataset("reber", n=300, T=20, val_split=0)  # normalize: one-hot stays as is
    assert ds.x_train.shape == (300, 20, 7) and ds.input_shape == (20, 7)
    assert ds.y_train.shape == (300, 20) and ds.y_train.dtype == np.int64
    assert ds.task == "sequence" and ds.num_outputs == 7 and ds.class_names == list(REBER_SYMBOLS)
    assert set(np.unique(ds.x_train)) <= {0.0, 1.0}
    wraps = []
    for x, y in zip(ds.x_train, ds.y_train, strict=True):
        string = decode_reber(x)
        assert len(string) <= 20
        assert string[0] == "B" and string[-1] == "E" and string[1] == string[-2] in "TP"
        assert is_reber(string[2:-2]), string
        codes = [REBER_SYMBOLS.index(s) for s in string]
        assert y[: len(string) - 1].tolist() == codes[1:]
        assert np.all(y[len(string) - 1 :] == REBER_SYMBOLS.index("E"))
        wraps.append(string[1])
    assert 100 < wraps.count("T") < 200  # T and P equally likely


# ---------------------------------------------------------------- images


def test_digits_offline():
    ds = load_dataset("digits", normalize="none", val_split=0.25, seed=3)
    assert ds.input_shape == (1, 8, 8) and ds.x_train.dtype == np.float32
    assert len(ds.x_train) + len(ds.x_val) == 1797 and ds.x_test is None
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    labels = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.class_names == [str(i) for i in range(10)] and ds.num_outputs == 10


def test_digits_file_matches_scikit_learn():
    from sklearn.datasets import load_digits

    from tuidl.datasets.digits import load_digits_arrays

    x, y = load_digits_arrays()
    bunch = load_digits()
    np.testing.assert_array_equal(x.reshape(len(x), -1), (bunch.data / 16).astype(np.float32))
    np.testing.assert_array_equal(y, bunch.target)


@needs_real_mnist
def test_mnist_test_files_only_split_8000_2000(caplog):
    mnist_module._warned.clear()
    with caplog.at_level(logging.WARNING):
        ds = load_dataset("mnist", normalize="none", data_dir=str(REAL_MNIST.parent))
        load_dataset("mnist", normalize="none")  # found through TUIDL_DATA; warned already
    assert ds.x_train.shape == (8000, 1, 28, 28) and ds.x_val.shape == (2000, 1, 28, 28)
    assert ds.x_test is None and ds.y_test is None and ds.input_shape == (1, 28, 28)
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    labels = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(labels).tolist() == MNIST_COUNTS
    assert ds.y_train[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]  # images [0:8000], in file order
    warnings = [r for r in caplog.records if "only the t10k" in r.getMessage()]
    assert len(warnings) == 1


@needs_real_mnist
def test_mnist_standard_normalization_is_global():
    ds = load_dataset("mnist")
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-3
    raw = load_dataset("mnist", normalize="none")
    mean, std = raw.x_train.astype(np.float64).mean(), raw.x_train.astype(np.float64).std()
    np.testing.assert_allclose(ds.x_val, (raw.x_val - mean) / std, atol=1e-5)


def test_mnist_search_order(clean_env, monkeypatch):
    tmp = clean_env
    fake_mnist(tmp / "cache" / "tuidl" / "mnist", n_test=20, seed=1)
    assert load_dataset("mnist").source.endswith(
        f"{tmp / 'cache' / 'tuidl' / 'mnist'} (first 16 train, last 4 val)"
    )
    fake_mnist(tmp / "env" / "mnist", n_test=20, seed=2)
    monkeypatch.setenv("TUIDL_DATA", str(tmp / "env"))
    assert str(tmp / "env" / "mnist") in load_dataset("mnist").source
    fake_mnist(tmp / "flat", n_test=20, seed=3)
    assert str(tmp / "flat") in load_dataset("mnist", data_dir=str(tmp / "flat")).source
    fake_mnist(tmp / "flat" / "mnist", n_test=20, seed=4)
    assert str(tmp / "flat" / "mnist") in load_dataset("mnist", data_dir=str(tmp / "flat")).source


def test_mnist_with_training_files_has_a_seeded_split_and_a_test_set(clean_env):
    folder = fake_mnist(clean_env / "data" / "fashion-mnist", n_train=100, n_test=30)
    ds = load_dataset("fashion-mnist", data_dir=str(folder.parent), val_split=0.2, seed=5)
    assert ds.x_train.shape == (80, 1, 28, 28) and ds.x_val.shape == (20, 1, 28, 28)
    assert ds.x_test.shape == (30, 1, 28, 28) and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_val).tolist() == [2] * 10  # stratified
    assert ds.class_names[9] == "Ankle boot"
    again = load_dataset("fashion-mnist", data_dir=str(folder.parent), val_split=0.2, seed=5)
    assert same_bytes(ds, again)


def test_mnist_n_train_keeps_the_first_training_images_and_every_validation_image(clean_env):
    folder = fake_mnist(clean_env / "data" / "mnist", n_train=100, n_test=30)
    whole = load_dataset("mnist", data_dir=str(folder.parent), normalize="none", seed=5)
    cut = load_dataset("mnist", data_dir=str(folder.parent), normalize="none", seed=5, n_train=7)
    np.testing.assert_array_equal(cut.x_train, whole.x_train[:7])
    np.testing.assert_array_equal(cut.y_val, whole.y_val)  # split first, then cut
    only_test = fake_mnist(clean_env / "t10k" / "mnist", n_test=20)
    cut = load_dataset("mnist", data_dir=str(only_test.parent), n_train=5, normalize="none")
    assert len(cut.x_train) == 5 and len(cut.x_val) == 4  # images [0:5] train, [16:20] validate


def test_noise_is_seeded_standard_normal_with_balanced_dummy_labels():
    ds = load_dataset("noise", n=3000, features=20, classes=3, normalize="none", val_split=0)
    assert ds.x_train.shape == (3000, 20) and ds.x_train.dtype == np.float32
    assert abs(float(ds.x_train.mean())) < 0.02 and abs(float(ds.x_train.std()) - 1) < 0.02
    assert np.bincount(ds.y_train).tolist() == [1000] * 3
    assert same_bytes(ds, load_dataset("noise", n=3000, features=20, classes=3,
                                       normalize="none", val_split=0))  # fmt: skip
    other = load_dataset("noise", n=3000, features=20, normalize="none", val_split=0, seed=1)
    assert not np.array_equal(ds.x_train, other.x_train)


def test_mnist_missing_says_where_to_put_it(clean_env):
    with pytest.raises(ConfigError, match=r"tuidl data fetch mnist.*cache/tuidl/mnist"):
        load_dataset("mnist", data_dir=str(clean_env / "nothing"))


def test_idx_dir_with_any_names(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "my-images.idx", rng.integers(0, 255, (30, 5, 6), dtype=np.uint8))
    write_idx(tmp_path / "my-labels.idx", (np.arange(30) % 3).astype(np.uint8))
    ds = load_dataset(f"idx:{tmp_path}", normalize="none", val_split=0.2)
    assert ds.input_shape == (1, 5, 6) and ds.num_outputs == 3
    assert len(ds.x_train) == 24 and len(ds.x_val) == 6


# ---------------------------------------------------------------- user files


def test_csv_with_header_and_text_labels(tmp_path):
    path = tmp_path / "iris.csv"
    rows = ["sepal,petal,kind"] + [f"{i}.5,{i % 7},{'ab'[i % 2]}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    ds = load_dataset(f"csv:{path}", normalize="none", val_split=0.25)
    assert ds.input_shape == (2,) and ds.task == "classification"
    assert ds.class_names == ["a", "b"] and ds.num_outputs == 2
    assert len(ds.x_train) == 14 and ds.y_train.dtype == np.int64  # 10 - 3 per class
    by_name = load_dataset(f"csv:{path}", label_column="kind", normalize="none", val_split=0.25)
    assert same_bytes(ds, by_name)
    with pytest.raises(ConfigError, match="has no column 'knid'; did you mean 'kind'"):
        load_dataset(f"csv:{path}", label_column="knid")


def test_csv_without_header_numeric_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("".join(f"{i % 3};{i};{i * 0.5}\n" for i in range(12)))
    ds = load_dataset(f"csv:{path}", label_column=0, normalize="none", val_split=0)
    assert ds.class_names == ["0", "1", "2"] and ds.x_train.shape == (12, 2)
    regression = load_dataset(f"csv:{path}", label_column=0, task="regression", val_split=0)
    assert regression.y_train.dtype == np.float32 and regression.num_outputs == 1
    halves = load_dataset(f"csv:{path}", normalize="none", val_split=0)  # last column: 0.5 steps
    assert halves.task == "regression" and halves.y_train.shape == (12, 1)
    assert sorted(halves.y_train[:, 0].tolist()) == [i * 0.5 for i in range(12)]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("  \n\n", "empty"),
        ("a,b,label\n", "a header but no data rows"),
        ("1,2,0\n3,x,1\n", r"line 2, column 2: 'x' is not a number"),
        ("1,2,0\n3,4\n", "line 2: 2 cells, expected 3"),
        ("1,2,0\n3,1e39,1\n", "line 2: a feature is inf or nan, or beyond float32"),
        ("1,2,0\n3,4,nan\n", "line 2: the label is inf or nan"),
        (b"1,2,0\n3,\xff,1\n", r"not UTF-8 text \(byte 0xff at offset 8\); save it as UTF-8"),
        ("1,2,0\n3,4,0\n5,6,0\n", r"only one class, '0' \(is label_column the right column\?\)"),
    ],
)
def test_csv_damage(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match=message):
        load_dataset(f"csv:{path}")


def test_text_next_character(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello world, hello tuidl\n" * 4)
    ds = load_dataset(f"text:{path}", T=8, val_split=0, normalize="standard")
    vocab = ds.class_names
    assert ds.task == "sequence" and ds.num_outputs == len(vocab) == len(set(path.read_text()))
    assert ds.x_train.shape == (12, 8, len(vocab)) and ds.y_train.shape == (12, 8)
    inputs = ds.x_train.argmax(axis=2)
    np.testing.assert_array_equal(inputs[:, 1:], ds.y_train[:, :-1])  # y is x shifted by one
    windows = {"".join(vocab[i] for i in row) for row in inputs}
    assert "hello wo" in windows and "rld, hel" in windows  # starts every T = 8 characters
    assert set(np.unique(ds.x_train)) == {0.0, 1.0}  # one-hot inputs are never rescaled
    with pytest.raises(ConfigError, match="too few"):
        load_dataset(f"text:{path}", T=1000)


# ---------------------------------------------------------------- splits and normalization


def test_val_split_zero_and_determinism():
    ds = load_dataset("moons", n=50, val_split=0)
    assert ds.x_val.shape == (0, 2) and ds.y_val.shape == (0,)
    a = load_dataset("spiral", n=100, seed=3, val_split=0.3)
    b = load_dataset("spiral", n=100, seed=3, val_split=0.3)
    assert same_bytes(a, b) and len(a.x_val) == 30


def test_standard_and_minmax_fit_on_train_only():
    raw = load_dataset("gauss", n=300, normalize="none", seed=2)
    std = load_dataset("gauss", n=300, normalize="standard", seed=2)
    np.testing.assert_allclose(std.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(std.x_train.std(axis=0), 1, atol=1e-5)
    mean, sd = raw.x_train.astype(np.float64).mean(0), raw.x_train.astype(np.float64).std(0)
    np.testing.assert_allclose(std.x_val, (raw.x_val - mean) / sd, atol=1e-5)
    np.testing.assert_allclose(std.normalizer.apply(raw.x_val), std.x_val)
    mm = load_dataset("gauss", n=300, normalize="minmax", seed=2)
    assert mm.x_train.min() == 0 and mm.x_train.max() == 1
    assert np.allclose(mm.x_train.min(axis=0), 0) and np.allclose(mm.x_train.max(axis=0), 1)


@pytest.mark.parametrize("name", ["moons", "digits", "adding"])
def test_pca_whiten_decorrelates(name):
    ds = load_dataset(name, normalize="pca-whiten", **({"n": 400} if name != "digits" else {}))
    assert ds.x_train.shape[1:] == ds.input_shape and np.isfinite(ds.x_train).all()
    rows = (
        ds.x_train.reshape(-1, 2) if name == "adding" else ds.x_train.reshape(len(ds.x_train), -1)
    )
    rows = rows.astype(np.float64)
    np.testing.assert_allclose(rows.mean(axis=0), 0, atol=1e-5)
    eigenvalues = np.linalg.eigvalsh(np.cov(rows, rowvar=False, bias=True))
    assert eigenvalues.max() < 1 + 1e-3  # whitened: no direction keeps more than unit variance
    if name == "digits":  # directions far below the eps floor stay damped, the rest reach ~1
        assert (eigenvalues > 0.9).sum() >= 40
    else:
        assert eigenvalues.min() > 0.99


def test_images_use_one_global_mean():
    ds = load_dataset("digits", normalize="standard")
    raw = load_dataset("digits", normalize="none")
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-4
    # one affine map for every pixel: the (always 0) corner pixel maps to one value everywhere
    corner = ds.x_train[:, 0, 0, 0]
    assert np.all(raw.x_train[:, 0, 0, 0] == 0) and np.ptp(corner) == 0


# ---------------------------------------------------------------- the API and its errors


def test_catalog_and_dataset_shape():
    assert set(DATASETS) >= {*PLANAR, "digits", "mnist", "fashion-mnist", "sine", "adding", "reber"}
    assert {"csv:PATH", "idx:DIR", "text:PATH"} <= set(DATASETS)
    ds = load_dataset("xor", n=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


@pytest.mark.parametrize(
    "call, message",
    [
        (dict(name="sprial"), "unknown dataset 'sprial'; did you mean 'spiral'?"),
        (
            dict(name="spiral", nosie=0.1),
            "unknown [data] key 'nosie' for spiral; did you mean 'noise'?",
        ),
        (dict(name="circles", classes=3), "unknown [data] key 'classes' for circles"),
        (dict(name="digits", n=3), "digits takes no [data] key 'n'"),
        (
            dict(name="spiral", noise=-1),
            "[data] noise for spiral must be a number in [0, 10], got -1",
        ),
        (dict(name="spiral", n="many"), "[data] n for spiral must be an integer, got 'many'"),
        (dict(name="spiral", n=True), "must be an integer, got True"),
        (dict(name="spiral", classes=1), "[data] classes for spiral must be at least 2"),
        (dict(name="spiral", classes=3, arms=4), "'classes' and 'arms' are the same key"),
        (dict(name="spiral", n=3), "too small for spiral"),
        (dict(name="spiral", val_split=1.0), "val_split must be in [0, 1)"),
        (dict(name="spiral", normalize="standrad"), "did you mean 'standard'?"),
        (dict(name="reber", T=5), "[data] T for reber must be at least 9"),
        (dict(name="csv:"), "needs a path after 'csv:'"),
        (dict(name="csv:/no/such.csv"), "no such file"),
        (dict(name="idx:/no/such"), "no such folder"),
    ],
)
def test_bad_input_is_one_config_error(call, message):
    with pytest.raises(ConfigError) as error:
        load_dataset(call.pop("name"), **call)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_idx_negative_size_is_reported(tmp_path):
    from tuidl.datasets.idx import IdxError, read_idx

    path = tmp_path / "neg.idx"
    path.write_bytes(b"\x00\x00\x08\x01\xff\xff\xff\xff")
    with pytest.raises(IdxError, match="negative size"):
        read_idx(path)
    assert issubclass(IdxError, ConfigError)  # the CLI turns it into one line and exit 2


@pytest.fixture
def one_gib(monkeypatch):
    """A machine with 1 GiB of memory: 512 MiB to spare for a dataset."""
    monkeypatch.setattr(validate, "memory_bytes", lambda: 2**30)


@pytest.mark.parametrize("prefix", ["csv", "text"])
def test_data_that_is_no_regular_file_is_refused_unread(tmp_path, prefix):
    for path, message in (("/dev/zero", "not a regular file"), (tmp_path, "a folder, not")):
        with pytest.raises(ConfigError, match=f"{message}.*check the path after '{prefix}:'"):
            load_dataset(f"{prefix}:{path}")


@pytest.mark.parametrize("prefix", ["csv", "text"])
def test_files_too_big_to_load_are_refused_unread(tmp_path, one_gib, prefix):
    path = tmp_path / "big"
    with open(path, "wb") as file:
        file.truncate(64 << 20)  # sparse; its 64 MiB take 1.5-2.5 GiB to load
    with pytest.raises(ConfigError, match="reading its 64.0 MiB needs about .* GiB, more than"):
        load_dataset(f"{prefix}:{path}")


def test_generated_sequences_too_big_are_refused_ungenerated(one_gib):
    with pytest.raises(ConfigError, match=r"\[data\] adding: generating 1,000,000 sequences"):
        load_dataset("adding", n=1_000_000, T=100)


def test_pca_whiten_of_too_many_features_is_refused(one_gib):
    with pytest.raises(ConfigError, match='normalize = "pca-whiten": whitening 5,000 features'):
        fit_normalizer("pca-whiten", np.zeros((10, 5000), np.float32), "flat")


def test_one_class_is_refused_for_text_and_idx(tmp_path):
    (tmp_path / "a.txt").write_text("a" * 100)
    with pytest.raises(ConfigError, match="only one class, 'a'; a classifier needs at least two"):
        load_dataset(f"text:{tmp_path / 'a.txt'}")
    write_idx(tmp_path / "idx" / "train-images-idx3-ubyte", np.zeros((9, 2, 2), np.uint8))
    write_idx(tmp_path / "idx" / "train-labels-idx1-ubyte", np.full(9, 3, np.uint8))
    with pytest.raises(ConfigError, match="only one class, '3'"):
        load_dataset(f"idx:{tmp_path / 'idx'}")
