"""What `errwatch proxy` runs: one fault proxy until Ctrl-C or SIGTERM, then its summary.

No Textual here: this runs in scripts and CI jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import time
from typing import Any
from urllib.parse import urlsplit

from errwatch.commands import output
from errwatch.commands.common import duration_option, find_config
from errwatch.config import FaultConfig, FaultKind, ProxyConfig
from errwatch.config.loading import proxy_problem
from errwatch.core.injection.faults import KINDS, ProxyStats
from errwatch.core.injection.links import Listener, build_proxy
from errwatch.core.units import format_duration, parse_address
from errwatch.errors import UsageError

WATCH_INTERVAL = 0.2
"""How often the command looks whether the fault window has ended, to say so."""


def plan(args: argparse.Namespace) -> tuple[ProxyConfig, float]:
    """The proxy the options describe, and the fault's duration (0: until stopped)."""
    try:
        host, port = parse_address(args.listen)
    except ValueError as error:
        raise UsageError(f"--listen: {error}") from None
    upstream = _upstream(args.upstream, tcp=args.tcp)
    fault = FaultConfig(
        kind=_kind(args) or "reset",  # no fault asked: a pass-through proxy that never starts one
        status=_status(args.abort) if args.abort is not None else 503,
        delay=duration_option(args.delay, "--delay") if args.delay is not None else 2.0,
        ratio=_ratio(args.ratio) if args.ratio is not None else 1.0,
        route=_route(args.route) if args.route is not None else "*",
    )
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cfg = ProxyConfig(name="proxy", listen=listen, upstream=upstream, fault=fault)
    problem = proxy_problem(cfg)
    if problem is not None:
        key, why = problem
        option = "--route" if key == "fault.route" else f"--{fault.kind}"
        raise UsageError(f"{option}: {why.replace('tcp:// link', '--tcp link')}")
    duration = duration_option(args.duration, "--duration") if args.duration is not None else 0.0
    return cfg, duration


def _kind(args: argparse.Namespace) -> FaultKind | None:
    """The fault the options ask for; None for none (a plain pass-through proxy)."""
    if args.abort is not None:
        return "abort"
    if args.delay is not None:
        return "delay"
    if args.reset:
        return "reset"
    return "refuse" if args.refuse else None


def _upstream(text: str, *, tcp: bool) -> str:
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if tcp:
        if parts.scheme != "tcp" or not parts.hostname or not port:
            raise UsageError(f'--upstream: expected HOST:PORT with --tcp, got "{text}"')
        return f"tcp://{parts.netloc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f'--upstream: expected an http:// or https:// URL, got "{text}" (--tcp for others)'
        )
    return text.rstrip("/")


def _status(text: str) -> int:
    if not text.isdigit() or not 400 <= int(text) <= 599:
        raise UsageError(f'--abort: expected an HTTP error status 400..599, got "{text}"')
    return int(text)


def _ratio(text: str) -> float:
    try:
        ratio = float(text)
    except ValueError:
        raise UsageError(f'--ratio: expected a share above 0 and at most 1, got "{text}"') from None
    if not math.isfinite(ratio) or not 0 < ratio <= 1:
        raise UsageError(f"--ratio: must be above 0 and at most 1, got {text}")
    return ratio


def _route(text: str) -> str:
    if not text.startswith(("/", "*")):
        raise UsageError(f'--route: a path glob starts with "/" or "*", got "{text}"')
    return text


def run_proxy(args: argparse.Namespace) -> int:
    """Proxy until Ctrl-C or SIGTERM; print the summary; 0, or 1 if the proxy failed."""
    cfg, duration = plan(args)
    config = find_config(args)
    proxy = build_proxy(cfg, allow_remote=config.injection.allow_remote)
    began = time.time()
    has_fault = _kind(args) is not None
    stopped_by = asyncio.run(_serve(proxy, cfg, duration, has_fault=has_fault))
    summary = summarize(proxy.stats(), cfg, duration, time.time() - began, stopped_by)
    if args.json:
        output.out_json(summary)
    else:
        output.out(describe(summary))
    return 1 if stopped_by == "error" else 0


async def _serve(proxy: Listener, cfg: ProxyConfig, duration: float, *, has_fault: bool) -> str:
    loop = asyncio.get_running_loop()
    reasons: list[str] = []

    def stop(reason: str) -> None:
        reasons.append(reason)
        proxy.shutdown(reason)

    await proxy.open()  # a busy port or a bad host: one line, exit 2, nothing started
    for signum, reason in ((signal.SIGINT, "user"), (signal.SIGTERM, "SIGTERM")):
        loop.add_signal_handler(signum, stop, reason)
    stats = proxy.stats()
    what = f"{stats.fault} for {format_duration(duration)}" if duration else stats.fault
    _say(
        f"listening on {stats.listen} -> {cfg.upstream}; "
        + (what if has_fault else "passing everything through")
        + "; Ctrl-C stops"
    )
    if has_fault:
        proxy.start_fault(duration)
    serving = asyncio.ensure_future(proxy.serve())
    announced = not has_fault
    try:
        while not serving.done():
            await asyncio.wait({serving}, timeout=WATCH_INTERVAL)
            if not announced and not proxy.active:
                announced = True
                if proxy.stats().stopped_by == "duration":
                    _say("the fault window is over: passing everything through")
        serving.result()
    except Exception as error:  # noqa: BLE001 (the engine failed: said, and exit code 1)
        _say(f"the proxy failed: {type(error).__name__}: {error}")
        return "error"
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return reasons[0] if reasons else "user"


def _say(line: str) -> None:
    output.note(f"errwatch proxy: {line}")


def summarize(
    stats: ProxyStats, cfg: ProxyConfig, duration: float, elapsed: float, stopped_by: str
) -> dict[str, Any]:
    """The run in a JSON-ready dict."""
    fault = cfg.fault
    kinds = [kind for kind in KINDS if kind != ("abort" if cfg.tcp else "refuse")]
    return {
        "listen": stats.listen,
        "upstream": cfg.upstream,
        "mode": "tcp" if cfg.tcp else "http",
        "fault": {
            "kind": fault.kind if stats.window else None,
            "description": stats.fault if stats.window else "none",
            "ratio": fault.ratio,
            "route": None if cfg.tcp else fault.route,
            "duration_s": duration or None,
            "active_s": round(stats.elapsed(time.time()), 3),
            "ended_by": stats.stopped_by or None,
        },
        "elapsed_s": round(elapsed, 3),
        "connections": stats.connections,
        "forwarded": stats.forwarded,
        "faulted": {kind: stats.faulted.get(kind, 0) for kind in kinds},
        "by_status": dict(sorted(stats.by_status.items())),
        "upstream_errors": stats.upstream_errors,
        "added_latency_ms": {
            "p50": _ms(stats.added_p50_ms),
            "p99": _ms(stats.added_p99_ms),
            "max": _ms(stats.added_max_ms),
        },
        "overhead_ms": {"p50": _ms(stats.overhead_p50_ms), "p99": _ms(stats.overhead_p99_ms)},
        "stopped_by": stopped_by,
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def describe(summary: dict[str, Any]) -> str:
    """The summary for a person: five lines, whatever the names and the fault say."""
    fault = summary["fault"]
    faulted = summary["faulted"]
    counts = ", ".join(f"{kind} {count}" for kind, count in faulted.items())
    answers = ", ".join(f"{status} x{count}" for status, count in summary["by_status"].items())
    added, overhead = summary["added_latency_ms"], summary["overhead_ms"]
    latency = (
        f"delays added p50 {added['p50']:.1f} ms, max {added['max']:.1f} ms"
        if added["p50"] is not None
        else "no delay added"
    )
    if overhead["p50"] is not None:
        latency += f"; proxy overhead p50 {overhead['p50']:.2f} ms, p99 {overhead['p99']:.2f} ms"
    window = (
        f"{fault['description']}, active {fault['active_s']:.1f}s, ended by {fault['ended_by']}"
        if fault["kind"]
        else "none (pass-through)"
    )
    lines = [
        f"proxied {summary['listen']} -> {summary['upstream']} for {summary['elapsed_s']:.1f}s; "
        f"stopped by {summary['stopped_by']}",
        f"forwarded {summary['forwarded']} (connections {summary['connections']}); faulted "
        f"{sum(faulted.values())}: {counts}; upstream errors {summary['upstream_errors']}",
    ]
    if summary["mode"] == "http":
        lines.append(f"answers: {answers or 'none'}")
    lines += [f"latency: {latency}", f"fault: {window}"]
    return output.one_per_line(lines)
