"""`tuidl sweep ... --app`: the sweep screen while the sweep runs.

The sweep itself runs as `tuidl sweep --resume SWEEP_DIR` in a child process (its own session,
so the terminal's keys and signals stay the app's; its output goes to `SWEEP_DIR/sweep.log`),
and the app follows the sweep directory as `tuidl view SWEEP_DIR` does. Quitting the app stops
the sweep as Ctrl-C would: the trials that ended are kept and `--resume` runs the others.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError, Interrupted
from ..runs import new_run_dir
from ..sweep.store import PLAN, Plan, read_results

LOG = "sweep.log"
STOP_SECONDS = 60.0  # a stopped sweep writes its finished trials and closes its cluster


def sweep_in_app(args: argparse.Namespace, new_plan, check_resume) -> int:
    """Plan the sweep (or read the one to resume), run it in a child process and show it."""
    from ..cli import prepare_terminal, require_terminal

    if args.resume:
        check_resume(args)
        sweep_dir = Path(args.resume)
        Plan.read(sweep_dir)  # a damaged plan is one line now, not in the child's log
    else:
        plan = new_plan(args)
    require_terminal("tuidl sweep without --app")
    if not args.resume:
        sweep_dir = new_run_dir(args.out or "runs", f"sweep-{plan.experiment.name}")
        try:
            plan.write(sweep_dir)
        except OSError as error:
            raise ConfigError(f"cannot write {sweep_dir / PLAN} ({error.strerror})") from None
    prepare_terminal("auto")
    options = [
        word
        for flag, value in (("--workers", args.workers), ("--scheduler", args.scheduler),
                            ("--data-dir", args.data_dir), ("--top", args.top),
                            ("--threads", args.threads))
        if value is not None
        for word in (flag, str(value))
    ]  # fmt: skip
    command = [sys.executable, "-m", "tuidl", "sweep", "--resume", str(sweep_dir), *options]
    with open(sweep_dir / LOG, "ab") as log:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        from ..ui.app import make_app

        make_app(sweep_dir=sweep_dir).run()
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    done = len({result["index"] for result in read_results(sweep_dir)})
    total = len(Plan.read(sweep_dir).trials)
    if done < total:
        raise Interrupted(
            f"sweep stopped: {done} of {total} trials done (its log: {sweep_dir / LOG}); "
            f"continue with: {shlex.join(['tuidl', 'sweep', '--resume', str(sweep_dir)])}"
        )
    print(f"sweep done: {total} trials in {sweep_dir} (tuidl view {sweep_dir} shows them)")
    return 0
