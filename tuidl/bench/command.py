"""`tuidl bench`: tuidl's kernels and training loop against numpy and PyTorch, side by side.

Prints a markdown table (machine line and date first) to stdout, progress to stderr; `--json`
writes every number. Exit codes: 0 done, 1 an implementation disagreed with the numpy
reference (named), 2 bad options. Importing this module is cheap: numpy, numba and torch load
only when the command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError

SECTIONS = ("conv", "pool", "dense", "lstm", "e2e", "startup", "memory")
KERNEL_SECTIONS = ("conv", "pool", "dense", "lstm")
EXIT_DISAGREEMENT = 1
# the first epoch compiles; the median of the 8 after it, as the kernels' 8 blocks (with 5, a
# 2-thread LeNet epoch's median moved 1.43-1.71x from 1 thread between runs on a shared host)
FULL_EPOCHS, QUICK_EPOCHS = 9, 3
FULL_WARM_RUNS, QUICK_WARM_RUNS = 3, 1


def add_bench_command(commands) -> None:
    """Register `tuidl bench` on the CLI's subparsers."""
    parser = commands.add_parser(
        "bench",
        help="time tuidl's kernels and training against numpy and PyTorch (markdown table)",
        description="Time forward+backward of tuidl's kernels against a plain-numpy reference "
        "and PyTorch (when importable), then end-to-end epochs, start-up and peak memory. "
        "Implementations are checked to agree before anything is timed.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny shapes, 2 repeats, kernels only (seconds)"
    )
    torch = parser.add_mutually_exclusive_group()
    torch.add_argument(
        "--torch",
        dest="torch",
        action="store_true",
        default=None,
        help="compare with PyTorch (an error if torch is not importable)",
    )
    torch.add_argument("--no-torch", dest="torch", action="store_false", help="skip PyTorch")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    parser.add_argument(
        "--repeats", type=int, metavar="N", help="alternating blocks per implementation (8)"
    )
    parser.add_argument(
        "--threads",
        metavar="T[,T2...]",
        help="threads for tuidl, numpy's BLAS and torch alike, or a list (1,2) to measure "
        "scaling (default: every core, or TUIDL_THREADS)",
    )
    parser.add_argument(
        "--only",
        metavar="LIST",
        help=f"comma-separated sections of {','.join(SECTIONS)} "
        "(default: all; with --quick: the kernels)",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder holding MNIST (else $TUIDL_DATA, the cache)"
    )
    parser.set_defaults(run=bench_command)


def _sections(args: argparse.Namespace) -> list[str]:
    if args.only is None:
        return list(KERNEL_SECTIONS if args.quick else SECTIONS)
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise ConfigError(
            f"--only takes a comma-separated list of {', '.join(SECTIONS)}; got {args.only!r}"
        )
    return [s for s in SECTIONS if s in chosen]


def _use_torch(flag: bool | None) -> bool:
    """--torch: required; --no-torch: never; neither: when importable."""
    if flag is False:
        return False
    try:
        import torch  # noqa: F401
    except (ImportError, OSError) as error:  # not installed, or a broken shared library
        if flag:
            raise ConfigError(
                f"--torch: torch is not importable ({error}); install the CPU build with "
                "'pip install torch==2.13.0' (benchmark-only) or use --no-torch"
            ) from None
        return False
    return True


def _thread_counts(option: str | None) -> list[int]:
    """--threads as a list of counts in the order given (no repeats)."""
    from .. import cores

    if option is None:
        return [cores.thread_count(None, cores.available())]
    counts = []
    for part in option.split(","):
        try:
            count = int(part)
        except ValueError:
            raise ConfigError(
                f"--threads takes a count or a comma-separated list of counts (1,2); got {option!r}"
            ) from None
        count = cores.thread_count(count, 1)
        if count not in counts:
            counts.append(count)
    return counts


def _check_options(args: argparse.Namespace) -> None:
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats must be at least 1, got {args.repeats}")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ConfigError(f"--json {args.json}: its folder does not exist")


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bench_command(args: argparse.Namespace) -> int:
    _check_options(args)
    sections = _sections(args)
    use_torch = _use_torch(args.torch)
    counts = _thread_counts(args.threads)

    from .. import heap
    from . import harness

    torch_version = None
    if use_torch:
        from . import torch_ref

        torch_version = torch_ref.version()
    pinned = heap.steady_malloc()
    plan = harness.QUICK_PLAN if args.quick else harness.TimingPlan()
    if args.repeats is not None:
        plan = dataclasses.replace(plan, repeats=args.repeats)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "quick": args.quick,
            "sections": sections,
            "threads": counts,
            "torch": use_torch,
            "plan": vars(plan),
            "agreement_rtol": harness.AGREEMENT_RTOL,
            "e2e_epochs": QUICK_EPOCHS if args.quick else FULL_EPOCHS,
        },
        "machine": harness.machine_info(counts, torch_version, pinned),
    }
    from . import report as md

    def show(key: str, threads: int) -> None:
        sys.stdout.write(md.section(report, key, threads))
        sys.stdout.flush()

    sys.stdout.write(md.header(report))
    kernel_groups = [s for s in sections if s in KERNEL_SECTIONS]
    for threads in counts if kernel_groups else ():  # each case at every count
        with harness.ThreadLimit(threads) as limit:
            if use_torch:
                torch_ref.set_threads(threads)
            try:
                rows = _kernels(kernel_groups, args.quick, use_torch, plan, limit)
            except harness.Disagreement as error:
                print(f"tuidl: error: bench: {error}", file=sys.stderr)
                return EXIT_DISAGREEMENT
            report.setdefault("kernels", []).extend(rows)
            show("kernels", threads)
    if "e2e" in sections:  # every count in one pass, epochs alternating
        report["e2e"] = _e2e(args, use_torch, counts)
        for threads in counts:
            show("e2e", threads)
    if len(counts) > 1 and ("kernels" in report or "e2e" in report):
        sys.stdout.write(md.scaling(report))
    threads = counts[-1]
    from . import endtoend

    if "startup" in sections:
        _say("start-up: tuidl run with an empty, then a filled numba cache")
        warm_runs = QUICK_WARM_RUNS if args.quick else FULL_WARM_RUNS
        report["startup"] = endtoend.run_startup(threads, warm_runs)
        show("startup", threads)
    if "memory" in sections:
        _say("peak memory: tuidl run mnist-lenet --epochs 1")
        report["memory"] = endtoend.run_memory(threads, args.data_dir)
        show("memory", threads)
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["wall_s"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(md.footer(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(report, file, indent=1)
            file.write("\n")
    return 0


def _kernels(groups, quick: bool, use_torch: bool, plan, limit) -> list[dict[str, Any]]:
    """Check every case's implementations against numpy, then time them all."""
    import numpy as np

    from . import cases as kc
    from . import harness

    rng = np.random.default_rng(20261122)
    chosen = [case for case in kc.kernel_cases(quick) if case.group in groups]
    runs, rows = [], []
    for case in chosen:  # all agreement checks first: a wrong kernel stops before any timing
        _say(f"checking {case.name} ({case.shapes})")
        inputs = kc.make_inputs(case, rng)
        impls = {
            "tuidl": limit.tuidl_call(kc.tuidl_impl(case, inputs)),
            "numpy": limit.reference_call(kc.numpy_impl(case, inputs)),
        }
        if use_torch:
            impls["torch"] = kc.torch_impl(case, inputs)
        outputs = {name: kc.snapshot(fn()) for name, fn in impls.items()}
        reference = outputs.pop("numpy")
        errors = harness.check_agreement(case.name, reference, outputs)
        runs.append(impls)
        row = {"name": case.name, "group": case.group, "shapes": case.shapes}
        row["threads"] = limit.threads
        row |= {"shape": case.shape, "target": case.target, "anchor_ms": case.anchor_ms}
        row["max_rel_err"] = {k: {"value": e, "tensor": t} for k, (e, t) in errors.items()}
        rows.append(row)
    for case, impls, row in zip(chosen, runs, rows, strict=True):
        _say(f"timing {case.name}")
        timings = harness.time_alternating(impls, plan)
        row["timing"] = {name: vars(t) for name, t in timings.items()}
        others = {name: t.median_ms for name, t in timings.items() if name != "tuidl"}
        best = min(others, key=others.get)
        row["best"] = best
        row["ratio"] = timings["tuidl"].median_ms / others[best]
    return rows


def _e2e(args: argparse.Namespace, use_torch: bool, counts: list[int]) -> list[dict[str, Any]]:
    from contextlib import contextmanager

    from . import endtoend, harness

    @contextmanager
    def at(threads: int):
        with harness.ThreadLimit(threads) as limit:
            limit.blas(1)  # the loops are tuidl's and torch's: numpy's BLAS is tuidl's
            if use_torch:
                from . import torch_ref

                torch_ref.set_threads(threads)
            yield

    epochs = QUICK_EPOCHS if args.quick else FULL_EPOCHS
    rows = []
    for name in endtoend.E2E_CASES:
        _say(
            f"end to end: {name}, {epochs} epochs at {', '.join(map(str, counts))} thread(s)"
            + (", tuidl and torch" if use_torch else "")
            + (" alternating" if use_torch or len(counts) > 1 else "")
        )
        rows += endtoend.run_epochs(
            name, epochs, args.data_dir, args.quick, use_torch, counts, at, _say
        )
    return rows
