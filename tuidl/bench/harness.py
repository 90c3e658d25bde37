"""How `tuidl bench` times and checks: alternating blocks, agreement, the machine line.

The method answers what a shared, noisy host does to timings:

- Implementations are timed in the same process, in alternating blocks (A B C, C B A, ...), so
  that a slow minute on the shared host hits all of them; ratios come from the same run.
- Each block starts with >= `settle_s` of untimed calls: OpenBLAS and libgomp worker threads
  keep spinning for a while after a call, so the first calls after another library ran are
  slow for reasons that are not the code's. OpenBLAS's spin for 2^28 clock ticks (its
  THREAD_TIMEOUT): 0.11 s at this VM's 2.45 GHz. After 0.1 s of settling, the numpy
  reference's spinning threads still took a core from tuidl's 2-thread dense block (0.205 ms
  against 0.183 after 0.15 s or more).
- One sample is the mean of `inner` back-to-back calls (~`sample_s`), each block holds a few
  samples; the table shows the median of all samples and the spread of the block medians.
- Minor page faults per call (`getrusage`): first writes to fresh pages cost ~2.5 us per 4 KiB
  here, which is why the benchmark pins glibc's mmap/trim thresholds (`tuidl.heap`), as
  training does.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

AGREEMENT_RTOL = 1e-4  # max |impl - numpy| / max |numpy| for the output and every gradient


class Disagreement(RuntimeError):
    """An implementation's output or gradient differs from the numpy reference."""


# --------------------------------------------------------------------------- agreement


def max_rel_err(reference: np.ndarray, value: np.ndarray) -> float:
    """max |value - reference| / max |reference| in float64 (inf for NaN or a shape mismatch)."""
    ref = np.asarray(reference, np.float64)
    val = np.asarray(value, np.float64)
    if ref.shape != val.shape:
        return float("inf")
    if ref.size == 0:
        return 0.0
    err = float(np.max(np.abs(val - ref)))
    scale = float(np.max(np.abs(ref)))
    err = err / scale if scale > 0 else err
    return err if np.isfinite(err) else float("inf")


def compare(reference: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> tuple[float, str]:
    """The worst max relative error over the reference's tensors, and which tensor it was.

    A tensor missing from `outputs` counts as infinitely wrong.
    """
    worst, name = 0.0, ""
    for key, ref in reference.items():
        err = max_rel_err(ref, outputs[key]) if key in outputs else float("inf")
        if err >= worst:
            worst, name = err, key
    return worst, name


def check_agreement(
    case: str,
    reference: dict[str, np.ndarray],
    candidates: dict[str, dict[str, np.ndarray]],
    rtol: float = AGREEMENT_RTOL,
) -> dict[str, tuple[float, str]]:
    """Compare every candidate implementation with the numpy reference on the same inputs.

    Args:
        case: the case's name, for the error message.
        reference: the numpy reference's outputs and gradients by name (`y`, `dx`, `dW` ...).
        candidates: implementation name -> its outputs, same names and shapes.
        rtol: the largest max relative error allowed on any tensor.

    Returns:
        implementation -> (max relative error, worst tensor).

    Raises:
        Disagreement: some implementation is off by more than `rtol` (named with the tensor).
    """
    errors = {name: compare(reference, outputs) for name, outputs in candidates.items()}
    for name, (err, tensor) in errors.items():
        if not err <= rtol:
            raise Disagreement(
                f"{case}: {name} disagrees with the numpy reference on {tensor}: "
                f"max relative error {err:.2e} > {rtol:.0e}"
            )
    return errors


# ----------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """One implementation's timing in one case (milliseconds per call)."""

    median_ms: float
    spread_ms: tuple[float, float]  # min and max of the block medians
    block_medians_ms: list[float]
    faults_per_call: float
    outlier_pct: float  # share of samples > 2x the median (host stalls)
    inner: int  # calls per sample
    calls: int  # timed calls in all


@dataclass
class TimingPlan:
    """How long and how often to time: `repeats` blocks per implementation."""

    repeats: int = 8
    samples: int = 5
    sample_s: float = 0.015
    settle_s: float = 0.25  # > OpenBLAS's spin (module docstring) on clocks down to 1.1 GHz
    warmup: int = 3


QUICK_PLAN = TimingPlan(repeats=2, samples=3, sample_s=0.002, settle_s=0.01, warmup=2)


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _calibrate(fn: Callable[[], Any], sample_s: float) -> int:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, round(sample_s / max(once, 1e-7)))


def time_alternating(fns: dict[str, Callable[[], Any]], plan: TimingPlan) -> dict[str, Timing]:
    """Time zero-argument callables in alternating blocks (order reversed every pass).

    Args:
        fns: implementation name -> a callable doing one forward+backward.
        plan: repeats (blocks per implementation), samples per block and their length,
            settling time before each block, warm-up calls.

    Returns:
        implementation name -> `Timing`.
    """
    names = list(fns)
    for name in names:
        for _ in range(plan.warmup):
            fns[name]()
    inner = {name: _calibrate(fns[name], plan.sample_s) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    blocks: dict[str, list[float]] = {name: [] for name in names}
    faults = dict.fromkeys(names, 0)
    for rep in range(plan.repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            fn, n = fns[name], inner[name]
            settle_until = time.perf_counter() + plan.settle_s
            fn()
            while time.perf_counter() < settle_until:
                fn()
            block = []
            before = _minor_faults()
            for _ in range(plan.samples):
                start = time.perf_counter()
                for _ in range(n):
                    fn()
                block.append((time.perf_counter() - start) / n * 1e3)
            faults[name] += _minor_faults() - before
            samples[name] += block
            blocks[name].append(statistics.median(block))
    result = {}
    for name in names:
        median = statistics.median(samples[name])
        calls = plan.repeats * plan.samples * inner[name]
        result[name] = Timing(
            median_ms=median,
            spread_ms=(min(blocks[name]), max(blocks[name])),
            block_medians_ms=blocks[name],
            faults_per_call=faults[name] / calls,
            outlier_pct=100.0 * sum(s > 2 * median for s in samples[name]) / len(samples[name]),
            inner=inner[name],
            calls=calls,
        )
    return result


def median_after_first(seconds: list[float]) -> float:
    """Median of epochs 2..N (the first pays compilation, cache and page-fault warm-up)."""
    rest = seconds[1:] or seconds
    return statistics.median(rest)


# ------------------------------------------------------------------ machine and threads


class ThreadLimit:
    """Run every library on `threads` threads for one pass of the benchmark.

    numpy's BLAS (the numpy reference) and OpenMP pools through threadpoolctl, torch through
    `torch.set_num_threads`, tuidl's kernels through `tuidl.cores.use` (numba's threads). tuidl
    calls BLAS from inside its numba threads, one thread each, so `tuidl_call` wraps a tuidl
    callable to set BLAS to 1 thread for its calls (the numpy reference's set it back: `blas`).
    Pools loaded later escape the limit, so torch must be imported before entering, and
    SciPy's BLAS is loaded here (on a busy 2-core host an unlimited 2-thread OpenBLAS inside
    numba's np.dot made an LSTM training step 10x slower).
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limits = None

    def __enter__(self) -> ThreadLimit:
        # numba's np.dot (kernels/blas.py's fallback) calls SciPy's OpenBLAS: load it now, so
        # that the limit covers it
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        from tuidl import cores

        cores.use(self.threads)
        controller = ThreadpoolController()
        self._limits = controller.limit(limits=self.threads)
        self._blas = controller.select(user_api="blas").lib_controllers
        return self

    def blas(self, count: int) -> None:
        """Put every BLAS on `count` threads (a few microseconds)."""
        for lib in self._blas:
            lib.set_num_threads(count)

    def tuidl_call(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """`fn` with BLAS on one thread: tuidl's kernels call it from each of theirs."""

        def call():
            self.blas(1)
            return fn()

        return call

    def reference_call(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """`fn` with BLAS on every thread of the pass."""

        def call():
            self.blas(self.threads)
            return fn()

        return call

    def __exit__(self, *exc) -> None:
        if self._limits is not None:
            self._limits.restore_original_limits()


def _cpu() -> dict[str, Any]:
    info: dict[str, Any] = {"model": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return info
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    info["model"] = fields.get("model name", info["model"])
    if "cpu family" in fields:
        info["family"], info["model_number"] = fields["cpu family"], fields.get("model")
    flags = fields.get("flags", "").split()
    info["avx2"], info["avx512"] = "avx2" in flags, "avx512f" in flags
    info["hypervisor"] = "hypervisor" in flags
    return info


def _blas() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "threading_layer", "architecture", "prefix")
    return [
        {k: pool.get(k) for k in keys} | {"file": pool.get("filepath")}
        for pool in threadpool_info()
    ]


def machine_info(
    threads: list[int], torch_version: str | None, malloc_pinned: bool
) -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, load, libraries, BLAS, threads."""
    import numba

    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    return {
        "cpu": _cpu(),
        "cores": cores,
        "usable_cores": usable,
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch_version,
        "blas": _blas(),
        "threads": threads,
        "malloc_pinned": malloc_pinned,
        "openblas_env": env,
    }


def machine_line(info: dict[str, Any]) -> str:
    """One line for the table's header: CPU, cores, load, versions, BLAS and threads."""
    cpu = info["cpu"]
    parts = [cpu["model"]]
    if "family" in cpu:
        parts[0] += f" (family {cpu['family']} model {cpu['model_number']})"
    if cpu.get("avx512"):
        parts[0] += ", AVX-512"
    parts.append(f"{info['usable_cores']} of {info['cores']} cores")
    parts.append("load " + " ".join(f"{x:.2f}" for x in info["load_average"]))
    parts.append(f"Python {info['python']}, numpy {info['numpy']}, numba {info['numba']}")
    numpy_blas = [p for p in info["blas"] if "numpy" in (p.get("file") or "")]
    for pool in numpy_blas or [p for p in info["blas"] if p.get("internal_api") == "openblas"][:1]:
        parts.append(
            f"numpy BLAS {pool['internal_api']} {pool['version']} "
            f"({pool['threading_layer']}, {pool['architecture']})"
        )
    if not info["blas"]:
        parts.append("BLAS unknown (install threadpoolctl)")
    parts.append(f"torch {info['torch']}" if info["torch"] else "no torch")
    parts.append(
        f"{'/'.join(str(t) for t in info['threads'])} thread(s) in every library "
        "(tuidl's numba, numpy's BLAS, torch), float32"
    )
    parts.append("mallopt pinned" if info["malloc_pinned"] else "default malloc")
    if info["openblas_env"]:
        env = " ".join(f"{k}={v}" for k, v in info["openblas_env"].items())
        parts.append(f"{env} is set (slows a current numpy: unset both for this command)")
    return "; ".join(parts)
