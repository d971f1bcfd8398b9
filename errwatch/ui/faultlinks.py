"""How the injection panel shows a proxy's fault: three lines, built from core snapshots.

Names and addresses come from the config, a failure's detail from the system; nothing
here is text from the upstream (the proxy never decodes its answers). Every part is a
plain ``Text``: no markup, no escape sequence.
"""

from __future__ import annotations

from rich.text import Text

from errwatch.core.injection.faults import ProxyStats
from errwatch.core.injection.guard import ErrorSplit
from errwatch.core.textsafe import for_terminal, plain
from errwatch.core.units import format_duration


def describe_proxy(stats: ProxyStats, errors: ErrorSplit | None, now: float, choice: str) -> Text:
    """What the link's fault does, its window; the counters; the API's answer to it."""
    head = Text.assemble(plain(f"{stats.name}: {stats.fault}", "bold", one_line=True))
    if stats.active:
        limit = f" of {format_duration(stats.duration)}" if stats.duration else ""
        head.append(f"  {format_duration(round(stats.elapsed(now)))}{limit}")
    elif stats.stopped_by:
        head.append(f"  stopped: {for_terminal(stats.stopped_by, one_line=True)}", "dim")
    else:
        head.append(f"  on {for_terminal(stats.listen, one_line=True)}", "dim")

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
        style = "bold red" if stats.state == "failed" else ""
        last = plain(f"{stats.state}: {stats.detail}", style, one_line=True)
    elif stats.state != "listening":
        last = plain(stats.state, "dim", one_line=True)
    else:
        last = Text("API 5xx/s ")
        if errors is not None:
            label = " during the fault" if stats.active else ""
            last.append(f"{errors.app_errors:.1f}{label}", "bold red" if errors.app_errors else "")
        else:
            last.append("?", "dim")
    last.append(f"  {choice}", "dim")
    return Text("\n").join([head, counts, last])
