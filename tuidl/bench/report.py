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
    if report["machine"].get("note"):
        lines.append(f"Note: {report['machine']['note']}.")
    return "\n".join(lines) + "\n"


def section(report: dict[str, Any], key: str) -> str:
    """The table of one finished section: `kernels`, `e2e`, `startup` or `memory`."""
    quick = report["settings"]["quick"]
    if key == "kernels":
        lines = _kernel_table(report, quick)
    elif key == "e2e":
        lines = _e2e_table(report["e2e"], quick)
    elif key == "startup":
        lines = _startup_table(report["startup"])
    else:
        lines = _memory_table(report["memory"])
    return "\n" + "\n".join(lines) + "\n"


def footer(report: dict[str, Any]) -> str:
    end = " ".join(f"{x:.2f}" for x in report["machine"]["load_average_end"])
    return f"\nLoad average at the end: {end}. Benchmark wall time {report['wall_s']:.0f} s.\n"


def _kernel_table(report: dict[str, Any], quick: bool) -> list[str]:
    rows = report["kernels"]
    impls = [name for name in IMPLS if name in rows[0]["timing"]]
    plan = report["settings"]["plan"]
    lines = [
        "### Kernels: forward + backward, ms per call",
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


def _e2e_table(rows: list[dict[str, Any]], quick: bool) -> list[str]:
    lines = [
        "### End to end: seconds per epoch (training loop only, median of epochs 2..N)",
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
