"""The markdown `tuidl bench` prints, from the same dict `--json` writes."""

from __future__ import annotations

from typing import Any

from .harness import machine_line

IMPLS = ("tuidl", "numpy", "torch")


def num(value: float | None) -> str:
    """Three significant digits ('1.00', '0.426', '13.6', '137'); '—' for missing."""
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 99.95 else f"{value:#.3g}"


def status(ratio: float | None, target: float | None, quick: bool = False) -> str:
    """'met', 'missed by 23%' (ratio / target - 1), or why there is no verdict."""
    if target is None:
        return "no target"
    if ratio is None:
        return "—"
    if quick:
        return "n/a (quick shapes)"
    return "met" if ratio <= target else f"missed by {100 * (ratio / target - 1):.0f}%"


def header(report: dict[str, Any]) -> str:
    """The title, date and machine line."""
    quick = report["settings"]["quick"]
    lines = [
        f"## tuidl bench, {report['date']}" + (" (--quick: tiny shapes)" if quick else ""),
        "",
        f"Machine: {machine_line(report['machine'])}.",
    ]
    return "\n".join(lines) + "\n"


def section(report: dict[str, Any], key: str, threads: int) -> str:
    """The table of one finished section: `kernels` or `e2e` (its rows at `threads`),
    `startup` or `memory`."""
    quick = report["settings"]["quick"]
    if key == "kernels":
        lines = _kernel_table(report, quick, threads)
    elif key == "e2e":
        lines = _e2e_table([r for r in report["e2e"] if r["threads"] == threads], quick, threads)
    elif key == "startup":
        lines = _startup_table(report["startup"])
    else:
        lines = _memory_table(report["memory"])
    return "\n" + "\n".join(lines) + "\n"


def footer(report: dict[str, Any]) -> str:
    end = " ".join(f"{x:.2f}" for x in report["machine"]["load_average_end"])
    return f"\nLoad average at the end: {end}. Benchmark wall time {report['wall_s']:.0f} s.\n"


def _kernel_table(report: dict[str, Any], quick: bool, threads: int) -> list[str]:
    rows = [row for row in report["kernels"] if row["threads"] == threads]
    impls = [name for name in IMPLS if name in rows[0]["timing"]]
    plan = report["settings"]["plan"]
    lines = [
        f"### Kernels, {threads} thread(s): forward + backward, ms per call",
        "",
        f"Median of {plan['repeats']} alternating blocks x {plan['samples']} samples per "
        "implementation; spread = min–max of the block medians; faults = minor page faults "
        "per call; error = max |x − numpy| / max |numpy| over the output and every gradient "
        "(worst tensor), checked before timing.",
        "",
        "| case | shapes | "
        + " | ".join(f"{name} ms" for name in impls)
        + " | tuidl / best | target | status | spread "
        + " / ".join(impls)
        + " | faults "
        + " / ".join(impls)
        + " | error tuidl"
        + (" / torch" if "torch" in impls else "")
        + " |",
        "|---|---|" + "---:|" * len(impls) + "---:|---:|---|---|---|---|",
    ]
    for row in rows:
        timing = row["timing"]
        spread = " / ".join(
            f"{num(timing[n]['spread_ms'][0])}–{num(timing[n]['spread_ms'][1])}" for n in impls
        )
        faults = " / ".join(f"{timing[n]['faults_per_call']:.0f}" for n in impls)
        errors = " / ".join(
            f"{e['value']:.1e} ({e['tensor']})" for e in row["max_rel_err"].values()
        )
        target = "—" if row["target"] is None else f"≤ {row['target']:g}"
        cells = [
            row["name"],
            row["shapes"],
            *(num(timing[n]["median_ms"]) for n in impls),
            f"{row['ratio']:.2f} ({row['best']})",
            target,
            status(row["ratio"], row["target"], quick),
            spread,
            faults,
            errors,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    noisy = [
        f"{row['name']} ({name})"
        for row in rows
        for name in impls
        if _unstable(*row["timing"][name]["spread_ms"])
    ]
    if noisy:
        lines += ["", UNSTABLE_NOTE + ", ".join(noisy) + "."]
    return lines


UNSTABLE_NOTE = (
    "Unstable (block medians differ more than 2x: the host stalled a thread; rerun, or compare "
    "with --threads 1): "
)


def _unstable(low: float, high: float) -> bool:
    return high > 2 * low


def _e2e_table(rows: list[dict[str, Any]], quick: bool, threads: int) -> list[str]:
    lines = [
        f"### End to end, {threads} thread(s): seconds per epoch (training loop only, median "
        "of epochs 2..N)",
        "",
        "| model | samples, steps/epoch | tuidl s | torch s | tuidl / torch | target | status "
        "| spread tuidl / torch | train loss, last epoch: tuidl / torch |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['name']} | skipped: {row['skipped']} |||||||")
            continue
        ours, torch = row["tuidl"], row.get("torch")
        ratio = row.get("ratio")
        spread = f"{num(ours['spread_s'][0])}–{num(ours['spread_s'][1])}"
        loss = f"{ours['train_loss'][-1]:.4g}"
        if torch:
            spread += f" / {num(torch['spread_s'][0])}–{num(torch['spread_s'][1])}"
            loss += f" / {torch['train_loss'][-1]:.4g}"
        cells = [
            row["name"],
            f"{row['samples']:,}, {row['steps_per_epoch']} (batch {row['batch_size']})",
            num(ours["median_s"]),
            num(torch["median_s"]) if torch else "—",
            "—" if ratio is None else f"{ratio:.2f}",
            f"≤ {row['target']:g}",
            status(ratio, row["target"], quick) if torch else "no torch to compare",
            spread,
            loss,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    noisy = [
        f"{row['name']} ({name})"
        for row in rows
        for name in ("tuidl", "torch")
        if name in row and _unstable(*row[name]["spread_s"])
    ]
    if noisy:
        lines += ["", UNSTABLE_NOTE + ", ".join(noisy) + "."]
    return lines


def _startup_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### Start-up: launch of `tuidl run PRESET --epochs 1` to its first finished step",
        "",
        "| preset | cold s (empty numba cache) | warm s (filled cache) | target cold / warm "
        "| status cold / warm |",
        "|---|---:|---:|---|---|",
    ]
    for row in rows:
        label = " ".join(row["args"])
        if "error" in row:
            lines.append(f"| {label} | failed: {row['error']} ||||")
            continue
        cold, warm = row["cold_s"], row["warm_s"]
        limits = row["target_cold_s"], row["target_warm_s"]
        verdicts = " / ".join(status(s, t) for s, t in zip((cold, warm), limits, strict=True))
        target = " / ".join(f"≤ {t:g}" for t in limits)
        lines.append(f"| {label} | {num(cold)} | {num(warm)} | {target} | {verdicts} |")
    return lines


def _memory_table(row: dict[str, Any]) -> list[str]:
    lines = [
        "### Peak memory: max RSS of `tuidl run mnist-lenet --epochs 1`",
        "",
        "| run | peak RSS MB | target | status |",
        "|---|---:|---:|---|",
    ]
    if "skipped" in row:
        lines.append(f"| {row['name']} | skipped: {row['skipped']} |||")
    else:
        mb, target = row["peak_rss_mb"], row["target_mb"]
        lines.append(f"| {row['name']} | {mb:.0f} | ≤ {target:g} | {status(mb, target)} |")
    return lines


EPOCH_EFFICIENCY_TARGET = 0.8  # 1.6x from 1 to 2 threads


def scaling(report: dict[str, Any]) -> str:
    """Speed-up, parallel efficiency and serial fraction of every kernel and epoch from the
    first thread count to each of the others."""
    counts = report["settings"]["threads"]
    base = counts[0]
    lines = [
        "",
        f"### Scaling: from {base} thread(s) to {', '.join(str(c) for c in counts[1:])}",
        "",
        f"Speed-up S = median time at {base} / median time at T (kernels: one pass of this "
        "process per count; epochs: all counts in one pass, alternating); "
        "efficiency = S / p with p = T / "
        f"{base}; serial fraction = Karp–Flatt's e = (1/S − 1/p) / (1 − 1/p), the share of the "
        "work that ran on one thread (Amdahl: S = 1 / (e + (1 − e) / p)). Epoch target: "
        f"efficiency ≥ {EPOCH_EFFICIENCY_TARGET:g} ({EPOCH_EFFICIENCY_TARGET * 2:g}x at 2 threads "
        "from 1).",
        "",
        "| case | threads | tuidl speed-up | efficiency | serial fraction | torch speed-up "
        "| target | status |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    sources = [("kernels", "median_ms", "timing", None), ("e2e", "median_s", None, "epoch")]
    for key, field, nested, target_kind in sources:
        rows = report.get(key, [])
        first = {row["name"]: row for row in rows if row["threads"] == base}
        for row in rows:
            start = first.get(row["name"])
            if row["threads"] == base or start is None or "skipped" in row:
                continue
            p = row["threads"] / base
            times = {
                impl: (_time(start, impl, field, nested), _time(row, impl, field, nested))
                for impl in ("tuidl", "torch")
            }
            speedups = {impl: a / b if a and b else None for impl, (a, b) in times.items()}
            ours = speedups["tuidl"]
            efficiency = None if ours is None else ours / p
            serial = None if ours is None else (1 / ours - 1 / p) / (1 - 1 / p)
            target = EPOCH_EFFICIENCY_TARGET if target_kind else None
            label = f"{row['name']} epoch" if target_kind else row["name"]
            cells = [
                label,
                str(row["threads"]),
                "—" if ours is None else f"{ours:.2f}x",
                "—" if efficiency is None else f"{efficiency:.2f}",
                "—" if serial is None else f"{serial:.2f}",
                "—" if speedups["torch"] is None else f"{speedups['torch']:.2f}x",
                "—" if target is None else f"efficiency ≥ {target:g}",
                "no target" if target is None else _reached(efficiency, target),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _time(row: dict[str, Any], impl: str, field: str, nested: str | None) -> float | None:
    holder = row.get(nested, {}) if nested else row
    entry = holder.get(impl)
    return None if entry is None else entry[field]


def _reached(value: float | None, target: float) -> str:
    if value is None:
        return "—"
    return "met" if value >= target else f"missed by {100 * (1 - value / target):.0f}%"
