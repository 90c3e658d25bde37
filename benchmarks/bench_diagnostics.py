"""What per-step diagnostics (gradient norms, update ratios) cost the trainer.

For each preset, times `Trainer.step()` of one trainer with `log_every = 1` (every step logged
with its diagnostics) against `log_every` so large that no step is logged, switching between the
two in alternating blocks, and prints the median step times and the overhead. Per-epoch activation
statistics are a separate, once-per-epoch cost and are reported per epoch.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagnostics.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tuidl.diagnostics import activation_stats
from tuidl.presets import preset
from tuidl.trainer import Trainer, load_experiment_data

NEVER = 10**9
BLOCKS, STEPS = 20, 50


def median_step_ms(trainer: Trainer, steps: int) -> float:
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--presets", default="spiral-mlp,digits-cnn,mnist-lenet,adding-lstm")
    args = parser.parse_args()
    print("| preset | step ms, logged | step ms, not logged | overhead | act stats ms/epoch |")
    print("|---|---:|---:|---:|---:|")
    for name in args.presets.split(","):
        experiment = preset(name)
        try:
            data = load_experiment_data(experiment, args.data_dir)
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
        probe = data.x_val[:256]
        start = time.perf_counter()
        activation_stats(trainer.model, probe)
        act_ms = (time.perf_counter() - start) * 1e3
        print(
            f"| {name} | {logged:.3f} | {silent:.3f} | {logged / silent - 1:+.1%} | {act_ms:.1f} |"
        )


if __name__ == "__main__":
    main()
