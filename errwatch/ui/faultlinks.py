"""How the injection panel shows a proxy's fault: three lines, built from core snapshots.

Names and addresses come from the config; nothing here is text from the upstream (the
proxy never decodes its answers), and every part is a plain ``Text`` (no markup).
"""

from __future__ import annotations

from rich.text import Text

from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.units import format_duration


def describe_proxy(stats: ProxyStats, errors: ErrorSplit | None, now: float, choice: str) -> Text:
    """What the link's fault does, its window; the counters; the API's answer to it."""
    head = Text.assemble((f"{stats.name}:", "bold"), " ", (stats.fault, "bold"))
    if stats.active:
        limit = f" of {format_duration(stats.duration)}" if stats.duration else ""
        head.append(f"  {format_duration(round(stats.elapsed(now)))}{limit}")
    elif stats.stopped_by:
        head.append(f"  stopped: {stats.stopped_by}", "dim")
    else:
        head.append(f"  on {stats.listen}", "dim")

    counts = Text.assemble("forwarded ", (str(stats.forwarded), "bold"), "  faulted ")
    counts.append(str(stats.total_faulted), "bold red" if stats.total_faulted else "bold")
    if stats.faulted:
        counts.append(" (" + ", ".join(f"{k} {n}" for k, n in sorted(stats.faulted.items())) + ")")
    classes: dict[str, int] = {}
    for status, count in stats.by_status.items():
        classes[f"{status[0]}xx"] = classes.get(f"{status[0]}xx", 0) + count
    for name, count in sorted(classes.items()):
        counts.append(f"  {name} {count}")
    if stats.upstream_errors:
        counts.append(f"  upstream errors {stats.upstream_errors}", "bold yellow")

    if stats.state in ("failed", "refusing"):
        last = Text(f"{stats.state}: {stats.detail}", "bold red" if stats.state == "failed" else "")
    elif stats.state != "listening":
        last = Text(stats.state, "dim")
    else:
        last = Text("API 5xx/s ")
        if errors is not None:
            label = " during the fault" if stats.active else ""
            last.append(f"{errors.app_errors:.1f}{label}", "bold red" if errors.app_errors else "")
        else:
            last.append("?", "dim")
    last.append(f"  {choice}", "dim")
    return Text("\n").join([head, counts, last])
