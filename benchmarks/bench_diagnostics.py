"""What per-step diagnostics (gradient norms, update ratios) cost the trainer.

Two measurements, per preset:

- Time (default): `Trainer.step()` of one trainer with `log_every = 1` (every step logged with
  its diagnostics) against `log_every` so large that no step is logged, switching between the
  two in alternating blocks; prints the median step times and the overhead. Per-epoch
  activation statistics and histograms are a separate, once-per-epoch cost, reported per
  epoch.
- Instructions (`--instructions`, needs valgrind): the same comparison counted by callgrind,
  which is repeatable whatever else the machine runs (on a shared 2-core VM the timed overhead
  of a 0.3 ms step swings by +-10 points). Three child runs per preset: no step, S steps not
  logged, S steps logged; overhead = (logged - not logged) / (not logged - no step).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagnostics.py [--data-dir DIR]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagnostics.py --instructions \
        --presets spiral-mlp,xor-mlp
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import numpy as np

from tuidl.histograms import measure
from tuidl.presets import preset
from tuidl.trainer import Trainer, load_experiment_data

NEVER = 10**9
BLOCKS, STEPS = 20, 50
COUNTED_STEPS = 400  # steps per callgrind child (about a minute each under valgrind)
WARM_STEPS = 30  # steps before counting: compilation, first-touch allocations


def median_step_ms(trainer: Trainer, steps: int) -> float:
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def timed(names: list[str], data_dir: str | None) -> None:
    print("| preset | step ms, logged | step ms, not logged | overhead | act, hist ms/epoch |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        experiment = preset(name)
        try:
            data = load_experiment_data(experiment, data_dir)
        except ValueError as error:
            print(f"| {name} | skipped: {error} | | | |")
            continue
        trainer = Trainer(experiment, dataset=data)
        median_step_ms(trainer, 5)  # compile and warm up
        medians: dict[int, list[float]] = {1: [], NEVER: []}
        for block in range(BLOCKS):
            for every in (1, NEVER) if block % 2 else (NEVER, 1):  # A B B A ...
                trainer.log_every = every
                medians[every].append(median_step_ms(trainer, STEPS))
        logged, silent = np.median(medians[1]), np.median(medians[NEVER])
        start = time.perf_counter()
        measure(trainer.model, *trainer.probe_data(), trainer.weight_limits)
        act_ms = (time.perf_counter() - start) * 1e3
        print(
            f"| {name} | {logged:.3f} | {silent:.3f} | {logged / silent - 1:+.1%} | {act_ms:.1f} |"
        )


def child(name: str, every: int, steps: int, data_dir: str | None) -> None:
    """The counted program: warm up, then `steps` steps logged every `every`."""
    experiment = preset(name)
    trainer = Trainer(experiment, dataset=load_experiment_data(experiment, data_dir))
    for _ in range(WARM_STEPS):
        trainer.step()
    trainer.log_every = every
    for _ in range(steps):
        trainer.step()


def count(name: str, every: int, steps: int, data_dir: str | None) -> int:
    command = [sys.executable, __file__, "--child", name, str(every), str(steps)]
    if data_dir:
        command += ["--data-dir", data_dir]
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def instructions(names: list[str], data_dir: str | None) -> None:
    print("| preset | instructions per step, not logged | extra when logged | overhead |")
    print("|---|---:|---:|---:|")
    for name in names:
        # numba sees valgrind's CPU, not the host's, so its disk cache misses once; this first
        # run fills it, and the counted runs below compile nothing.
        count(name, NEVER, 0, data_dir)
        base = count(name, NEVER, 0, data_dir)
        silent = count(name, NEVER, COUNTED_STEPS, data_dir)
        logged = count(name, 1, COUNTED_STEPS, data_dir)
        step = (silent - base) / COUNTED_STEPS
        extra = (logged - silent) / COUNTED_STEPS
        print(f"| {name} | {step:,.0f} | {extra:,.0f} | {extra / step:+.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--presets", default="spiral-mlp,digits-cnn,mnist-lenet,adding-lstm")
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--child", nargs=3, metavar=("PRESET", "EVERY", "STEPS"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), args.data_dir)
    elif args.instructions:
        instructions(args.presets.split(","), args.data_dir)
    else:
        timed(args.presets.split(","), args.data_dir)


if __name__ == "__main__":
    main()
