"""What `errwatch inject` runs: the dashboard's fault injection alone, a progress bar, a summary.

Imports stay lean (httpx and rich, no Textual): this runs in scripts and CI jobs. Only
imported when the command runs, so other commands do not pay for httpx and rich.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import time
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from errwatch.commands import output
from errwatch.commands.common import duration_option, find_config
from errwatch.config import Config, InjectionConfig
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.injection.injector import InjectionStats, Injector
from errwatch.core.injection.probe import ErrorSplitProbe, run_guarded
from errwatch.core.injection.targets import check_target
from errwatch.core.textsafe import for_terminal
from errwatch.core.units import clip, format_duration
from errwatch.errors import UsageError

PROGRESS_INTERVAL = 0.2


def plan(
    cfg: InjectionConfig, *, rate: str | None, duration: str | None, route: str | None
) -> tuple[InjectionConfig, list[str]]:
    """The config with the command line's values, clamped to the caps; and what was clamped."""
    notes = []
    if route is not None:
        if not route.startswith("/"):
            raise UsageError(f'--route: must start with "/", got "{route}"')
        cfg = replace(cfg, route=route)
    if rate is not None:
        try:
            asked = float(rate)
        except ValueError:
            raise UsageError(f'--rate: expected requests per second, got "{clip(rate)}"') from None
        if not math.isfinite(asked) or asked <= 0:
            raise UsageError(f"--rate: must be greater than 0, got {clip(rate)}")
        if asked > cfg.max_rate:
            notes.append(
                f"--rate {asked:g}/s is above injection.max_rate: injecting at {cfg.max_rate:g}/s"
            )
        cfg = replace(cfg, rate=min(asked, cfg.max_rate))
    if duration is not None:
        seconds = duration_option(duration, "--duration")
        if seconds > cfg.max_duration:
            notes.append(
                f"--duration {format_duration(seconds)} is above injection.max_duration: "
                f"stopping after {format_duration(cfg.max_duration)}"
            )
        cfg = replace(cfg, duration=min(seconds, cfg.max_duration))
    return cfg, notes


def run_inject(args: argparse.Namespace) -> int:
    """Inject until the duration, Ctrl-C, SIGTERM or the guard; print the summary."""
    config = find_config(args)
    cfg, notes = plan(config.injection, rate=args.rate, duration=args.duration, route=args.route)
    injector = Injector(cfg, config.target.url)
    check_target(injector.url, injector.allow_remote)
    err = Console(stderr=True, highlight=False)
    for note in notes:
        output.note(f"errwatch inject: {note}")
    guard = _GuardLine(injector)
    stats = asyncio.run(_inject(injector, config, err, guard))
    summary = summarize(stats, injector.url)
    # Why it stopped and what the guard read may quote an error or the engine.
    if args.json:
        output.out_json(summary)
    else:
        output.out(describe(summary, guard.line))
    return 1 if stats.stopped_by == "error" else 0


async def _inject(
    injector: Injector, config: Config, err: Console, seen: _GuardLine
) -> InjectionStats:
    loop = asyncio.get_running_loop()
    stops = (signal.SIGINT, signal.SIGTERM)
    for signum in stops:
        loop.add_signal_handler(signum, injector.stop, "user")
    cfg = injector.cfg
    probe = (
        ErrorSplitProbe(
            config.prometheus,
            cfg.route,
            target_url=config.target.url,
            answers=injector.answers,
        )
        if injector.guard.enabled
        else None
    )
    # Every column is plain text: the route and the guard's words are not markup.
    progress = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}", markup=False),
        TextColumn("{task.fields[guard]}", markup=False),
        console=err,
        disable=not err.is_terminal,
    )
    if err.is_terminal:
        output.note(
            f"errwatch inject: {cfg.method} {injector.url} at {injector.rate:g}/s for "
            f"{format_duration(cfg.duration)}; Ctrl-C stops"
        )
    title = for_terminal(f"{cfg.method} {cfg.route} @ {injector.rate:g}/s", one_line=True)
    task_id = progress.add_task(title, total=cfg.duration, counts="", guard=seen.short)
    run = asyncio.ensure_future(
        run_guarded(injector, probe, interval=config.prometheus.refresh, listener=seen)
    )
    try:
        with progress:
            while not run.done():
                _show(progress, task_id, injector.stats(), seen.short)
                await asyncio.wait({run}, timeout=PROGRESS_INTERVAL)
            stats = run.result()
            _show(progress, task_id, stats, seen.short)
        return stats
    finally:
        for signum in stops:
            loop.remove_signal_handler(signum)
        if probe is not None:
            await probe.aclose()


class _GuardLine:
    """The guard's state, kept up to date by the probe's readings: short, and in full."""

    def __init__(self, injector: Injector) -> None:
        self.injector = injector
        self.short = self.line = injector.guard.describe()

    def __call__(self, split: ErrorSplit | None, problem: str) -> None:
        self.short = "guard: no reading" if split is None else self.injector.guard.describe()
        self.line = f"no reading ({problem})" if split is None else self.short


def _show(progress: Progress, task_id: TaskID, stats: InjectionStats, guard: str) -> None:
    counts = f"sent {stats.sent}  5xx {stats.server_errors}  failed {stats.failed}"
    guard = for_terminal(guard, one_line=True)
    progress.update(task_id, completed=stats.elapsed(time.time()), counts=counts, guard=guard)


def summarize(stats: InjectionStats, url: str) -> dict[str, Any]:
    """The run in a JSON-ready dict."""
    elapsed = stats.elapsed(time.time())
    return {
        "run_id": stats.run_id,
        "url": url,
        "asked_rate": stats.rate,
        "elapsed_s": round(elapsed, 3),
        "sent": stats.sent,
        "by_status": dict(sorted(stats.by_status.items())),
        "errors": stats.failed,
        "timeouts": stats.timeouts,
        "connection_errors": stats.connection_errors,
        "skipped": stats.skipped,
        "achieved_rate": round(stats.achieved_rate(time.time()), 3),
        "latency_ms": {"p50": _ms(stats.p50_ms), "p99": _ms(stats.p99_ms)},
        "stopped_by": stats.stopped_by,
        "detail": stats.detail,
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def describe(summary: dict[str, Any], guard: str) -> str:
    """The summary for a person: four lines, whatever the stop reason and the guard quote."""
    answers = ", ".join(f"{status} x{count}" for status, count in summary["by_status"].items())
    latency = summary["latency_ms"]
    stopped = summary["stopped_by"] + (f" ({summary['detail']})" if summary["detail"] else "")
    lines = [
        f"sent {summary['sent']} in {summary['elapsed_s']:.1f}s: {summary['achieved_rate']:.1f}/s "
        f"(asked {summary['asked_rate']:g}/s); stopped by {stopped}",
        f"answers: {answers or 'none'}; timeouts {summary['timeouts']}, connection errors "
        f"{summary['connection_errors']}, skipped {summary['skipped']}",
        "latency: "
        + (
            f"p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms"
            if latency["p50"] is not None
            else "no answers"
        ),
        f"guard: {guard}",
    ]
    return output.one_per_line(lines)
