"""`tuidl sweep`: hyper-parameter search on Dask distributed.

Trials (`tuidl.sweep.trials`) drawn from `--space` (or its grid) run on a local cluster, or on
a running one with `--scheduler`, each into an ordinary run directory of the sweep directory
(`tuidl.sweep.store` describes its files). Ctrl-C stops the sweep with the trials that ended
written; `--resume SWEEP_DIR` runs the others.

Importing this module is cheap (the CLI's parser imports it): the engine, numpy and Dask load
inside the functions that run the command.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import cores
from ..errors import ConfigError, Interrupted
from ..lock import RunLock
from .run import add_experiment_options, add_threads_option, experiment_from_args, local_workers

if TYPE_CHECKING:
    from ..sweep.store import Plan
    from ..sweep.trials import Trial

# the keys of `sweep.store.METRICS` (a test keeps them equal): that module loads numpy
METRIC_NAMES = ("val_acc", "val_loss")
DEFAULT_METRIC = "val_loss"
DEFAULT_TOP = 5
# what `--resume` takes from sweep.toml and the command may not change
PLANNED = ("experiment", "space", "trials", "grid", "seeds", "metric", "epochs", "seed", "out")


def add_sweep_command(commands) -> None:
    parser = commands.add_parser(
        "sweep", help="hyper-parameter search: trials on a local or remote Dask cluster"
    )
    parser.add_argument("experiment", nargs="?", help="preset name or experiment .toml file")
    parser.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=DIST",
        help="a key and its distribution: loguniform(a,b), uniform(a,b), int(a,b), "
        "logint(a,b), choice(v1,v2,...); with --grid a list V1,V2,... (repeatable)",
    )
    parser.add_argument("--trials", type=int, help="configurations to draw (default 8)")
    parser.add_argument("--grid", action="store_true", help="run every combination of the lists")
    parser.add_argument("--seeds", type=int, help="runs per configuration (seeds S..S+K-1)")
    parser.add_argument(
        "--metric", choices=METRIC_NAMES, help=f"what ranks the trials (default {DEFAULT_METRIC})"
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler instead of a local one",
    )
    parser.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    parser.add_argument("--out", help="folder for the sweep directory (default runs/)")
    parser.add_argument("--resume", metavar="SWEEP_DIR", help="run the trials SWEEP_DIR lacks")
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, help=f"rows of the final table ({DEFAULT_TOP})"
    )
    parser.add_argument("--epochs", type=int, help="epochs per trial (overrides [train] epochs)")
    parser.add_argument("--seed", type=int, help="the sweep's seed: draws and trials")
    parser.add_argument(
        "--app", action="store_true", help="show the sweep screen while the sweep runs"
    )
    add_threads_option(parser, "the cores shared among the local workers")
    add_experiment_options(parser)
    parser.set_defaults(run=sweep_command)


def new_plan(args: argparse.Namespace) -> Plan:
    """The sweep the command describes, every trial validated."""
    from ..runs import printable_name, run_name
    from ..sweep.space import parse_space
    from ..sweep.store import Plan
    from ..sweep.trials import plan_trials

    if not args.experiment:
        raise ConfigError(
            "name an experiment: tuidl sweep PRESET|FILE.toml --space KEY=DIST (see tuidl presets)"
        )
    if args.epochs is not None and args.epochs < 0:
        raise ConfigError(f"--epochs must be at least 0, got {args.epochs}")
    experiment = printable_name(experiment_from_args(args))
    run_name(f"sweep-{experiment.name}")  # a name that gives no folder fails now
    space = parse_space(args.space, args.grid)
    trials = plan_trials(experiment, space, args.trials, args.grid, args.seeds or 1)
    return Plan(
        experiment,
        trials,
        metric=args.metric or DEFAULT_METRIC,
        mode="grid" if args.grid else "random",
        seed=experiment.seed,
        seeds=args.seeds or 1,
        space=[d.text for d in space],
        log=[d.key for d in space if d.log],
        command=shlex.join(["tuidl", *sys.argv[1:]]),
    )


def check_resume(args: argparse.Namespace) -> None:
    given = [name for name in PLANNED if getattr(args, name) not in (None, [], False)]
    if given or args.overrides:
        option = given[0] if given else "set"
        raise ConfigError(
            f"--resume runs the sweep as its sweep.toml says; drop "
            f"{'EXPERIMENT' if option == 'experiment' else '--' + option}"
        )


def sweep_command(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    if args.trials is not None and args.trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {args.trials}")
    workers = local_workers(args.scheduler, args.workers, "--workers")
    cores.thread_count(args.threads, 1)  # a bad count fails before anything starts
    from ..console import make_console
    from ..sweep.display import top_table
    from ..sweep.store import Plan, read_results

    if args.app:
        from .sweepapp import sweep_in_app

        return sweep_in_app(args, new_plan, check_resume)
    with contextlib.ExitStack() as stack:
        if args.resume:
            check_resume(args)
            sweep_dir = Path(args.resume)
            plan = Plan.read(sweep_dir)
            lock = RunLock(sweep_dir)
            lock.acquire()  # another process resuming it is refused before anything runs
            stack.callback(lock.release)
        else:
            plan, sweep_dir = new_plan(args), None
        done = read_results(sweep_dir) if sweep_dir else []
        finished = {result["index"] for result in done}
        todo = [trial for trial in plan.trials if trial.index not in finished]
        if todo:
            sweep_dir = run_trials(plan, todo, done, sweep_dir, args, workers, stack)
    results = read_results(sweep_dir)
    console = make_console(sys.stdout)
    console.print(top_table(plan, results, args.top))
    console.print(f"sweep directory: {sweep_dir}", highlight=False)
    missing = len(plan.trials) - len({result["index"] for result in results})
    if missing:
        raise Interrupted(
            f"interrupted: {missing} of {len(plan.trials)} trials are not done; continue with: "
            f"{shlex.join(['tuidl', 'sweep', '--resume', str(sweep_dir)])}"
        )
    return 0


def run_trials(
    plan: Plan,
    todo: list[Trial],
    done: list[dict[str, Any]],
    sweep_dir: Path | None,
    args: argparse.Namespace,
    workers: int,
    stack: contextlib.ExitStack,
) -> Path:
    """Run `todo` on the cluster, into `sweep_dir` (for a new sweep, None: made once the
    workers are ready); returns the sweep directory. `stack` closes the cluster and lets go of
    the directory."""
    from ..runs import new_run_dir
    from ..sweep.display import SweepDisplay
    from ..sweep.store import PLAN, append_result, result_line

    try:
        from ..sweep.executor import Ended, Executor, Job, Started  # distributed: 0.6 s

        workers = min(workers, len(todo))
        threads = cores.thread_count(args.threads, cores.per_worker(workers, args.scheduler))
        executor = stack.enter_context(Executor(args.scheduler, workers, args.data_dir, threads))
        executor.prepare([(f"trial {t.index} ({t.label})", t.experiment) for t in todo])
    except KeyboardInterrupt:
        what = "nothing was written" if sweep_dir is None else "no trial started"
        raise Interrupted(f"interrupted while the workers started; {what}") from None
    if sweep_dir is None:
        sweep_dir = new_run_dir(args.out or "runs", f"sweep-{plan.experiment.name}")
        try:
            plan.write(sweep_dir)
        except OSError as error:
            raise ConfigError(f"cannot write {sweep_dir / PLAN} ({error.strerror})") from None
        lock = RunLock(sweep_dir)
        lock.acquire()
        stack.callback(lock.release)
    for trial in todo:  # what a sweep killed mid-trial left: the trial runs afresh
        shutil.rmtree(sweep_dir / trial.folder, ignore_errors=True)
    display = SweepDisplay(plan, done, executor.where)
    trials = {trial.folder: trial for trial in todo}

    def listen(event) -> None:
        trial = trials[event.job.key]
        if isinstance(event, Started):
            display.started(trial, event.worker, event.attempt)
        elif not isinstance(event, Ended):
            display.progress(trial, event.epoch, event.step, event.time, event.best)
        elif event.status == "interrupted":  # stopped unfinished: --resume runs it afresh
            shutil.rmtree(event.job.run_dir, ignore_errors=True)
            display.ended(trial, None)
        else:
            line = result_line(
                trial, event.status, event.summary, event.worker, event.attempts, plan.metric
            )
            append_result(sweep_dir, line)
            display.ended(trial, line)

    jobs = [Job(t.folder, f"trial {t.index}", t.experiment, sweep_dir / t.folder) for t in todo]
    display.begin(str(sweep_dir), len(todo))
    try:
        executor.run(jobs, listen)
    finally:
        display.close()
    return sweep_dir
