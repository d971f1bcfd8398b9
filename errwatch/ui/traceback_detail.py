"""The detail of one error group: whole traceback, chain, frames, why it was grouped.

Everything in it comes from a log (a message, a file name, a source line, a prefix): it
goes in through ``safe`` (escape sequences and controls shown, never acting) into
``Text`` (never markup).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from errwatch.core.logs.events import ExceptionInfo, Frame
from errwatch.core.logs.grouping import (
    ErrorGroup,
    in_app_frames,
    module_name,
    ranked_sources,
    short_name,
    sources_text,
)
from errwatch.core.textsafe import for_terminal as safe
from errwatch.core.textsafe import plain

_RELATION = {
    "cause": "was the direct cause of",
    "context": "was being handled when",
}


def clock(at: float) -> str:
    """HH:MM:SS in local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def where(frame: Frame | None) -> str:
    """``file:line function`` (no function for a SyntaxError's frame)."""
    if frame is None:
        return "?"
    place = f"{module_name(frame.file)}:{frame.line}"
    return place if frame.function == "?" else f"{place} {frame.function}"


def on_text(group: ErrorGroup) -> str:
    """Where a group occurred, for a table cell: the busiest place, and how many more."""
    ranked = ranked_sources(group)
    if not ranked:
        return ""
    first = short_name(ranked[0][0])
    return first if len(ranked) == 1 else f"{first} +{len(ranked) - 1}"


ORIGINS = (
    ("inj", "caused by errwatch's fault injection (requests to the test route)"),
    ("flt", "occurred during a fault of one of errwatch's proxies (test-induced)"),
    ("app", "the application's own"),
    ("mix", "some of each"),
)
"""What the traceback panel's Src column says (the help's legend)."""


def causes(group: ErrorGroup, during: int = 0) -> tuple[int, int, int]:
    """(injected, during a proxy's fault, the application's own) occurrences of a group.

    ``during``: tracebacks of the group seen while a fault window was open (the timeline's
    incident counts them); those not injected are test-induced, not the application's.
    """
    faulted = min(during, group.application)
    return group.injected, faulted, group.application - faulted


def origin(group: ErrorGroup, during: int = 0) -> str:
    """Injected by errwatch, during a proxy's fault, the application's own, or a mix."""
    counts = zip(("inj", "flt", "app"), causes(group, during), strict=True)
    kinds = [kind for kind, count in counts if count]
    return kinds[0] if len(kinds) == 1 else "mix" if kinds else "app"


def _head(group: ErrorGroup, during: int) -> Text:
    sample = group.sample
    first_line = group.message.splitlines()[0] if group.message else ""
    head = Text.assemble(
        (safe(group.type, one_line=True), "bold red"),
        f": {safe(first_line, one_line=True)}\n",
        f"{group.count} times · first {clock(group.first_seen)} · last {clock(group.last_seen)}",
        f" · at {safe(where(group.location), one_line=True)}",
    )
    if sample.record is not None and sample.record.route:
        route = f"{sample.record.method or ''} {sample.record.route}"
        head.append(f" · route {safe(route, one_line=True)}")
    if group.sources:
        head.append("\non ")
        head.append(safe(sources_text(group, short=True), one_line=True), "bold")
    prefix = sample.prefix
    if prefix is not None and prefix.fields:
        fields = ", ".join(f"{key} {value}" for key, value in prefix.fields)
        head.append(f"  ({safe(fields, one_line=True)})")
    injected, faulted, own = causes(group, during)
    head.append(f"\n{injected} injected by errwatch · ")
    if faulted:
        head.append(f"{faulted} during a proxy's fault · ", "magenta")
    head.append(f"{own} from the application")
    if group.incomplete:
        head.append(f" · {group.incomplete} cut off", "yellow")
    if group.uncertain:
        head.append(f" · {group.uncertain} from interleaved lines", "yellow")
    return head


def _members(members: tuple[ExceptionInfo, ...], text: Text, depth: int) -> None:
    for member in members:
        text.append(f"{'  ' * depth}  ├ {safe(member.type, one_line=True)}", "bold")
        text.append(f": {safe(member.message)}\n" if member.message else "\n")
        _members(member.group, text, depth + 1)


def _title(title: str) -> Text:
    text = Text()
    text.append(title, "underline")
    text.append("\n")
    return text


def chain_text(group: ErrorGroup) -> Text:
    """Every exception of the sample, oldest first, and how each led to the next."""
    text = _title("Chain")
    chain = group.sample.chain
    for n, link in enumerate(chain, 1):
        text.append(
            f"  {n}. {safe(link.type, one_line=True)}", "bold red" if n == len(chain) else "bold"
        )
        text.append(f": {safe(link.message)}\n" if link.message else "\n")
        _members(link.group, text, 1)
        if link.relation:
            relation = _RELATION.get(link.relation, safe(link.relation, one_line=True))
            text.append(f"     {relation}\n", "italic")
    return text


def frames_text(group: ErrorGroup) -> Text:
    """The frames of each exception of the sample, the application's own in bold,
    libraries dimmed."""
    text = _title("Frames (application in bold, libraries dimmed)")
    chain = group.sample.chain
    links = chain if chain else (ExceptionInfo(group.type, group.message, group.sample.frames),)
    for link in links:
        if len(links) > 1:
            text.append(f"{safe(link.type, one_line=True)}\n", "italic")
        own = set(in_app_frames(link.frames))
        for frame in link.frames:
            style = "bold" if frame in own else "dim"
            mark = "▶ " if frame in own else "  "
            place = safe(f"{frame.file}:{frame.line} in {frame.function}", one_line=True)
            text.append(f"{mark}{place}\n", style)
            if frame.source:
                text.append(f"      {safe(frame.source, one_line=True)}\n", style)
            if frame.repeated:
                text.append(f"      [repeated {frame.repeated} more times]\n", "italic")
    return text


def why_text(group: ErrorGroup) -> Text:
    """The fingerprint's parts: what made these tracebacks one group."""
    text = _title(f"Why grouped (fingerprint {group.fingerprint})")
    for part in group.parts:
        text.append(f"  {safe(part, one_line=True)}\n")
    return text


class TracebackScreen(ModalScreen[None]):
    """The whole traceback of a group, its chain, its frames and why it was grouped;
    ``during``: how many of its tracebacks came while a proxy's fault was on."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, group: ErrorGroup, *, during: int = 0) -> None:
        super().__init__()
        self.group = group
        self.during = during

    def compose(self) -> ComposeResult:
        group = self.group
        with Vertical(id="traceback-dialog"):
            yield Static(_head(group, self.during), id="traceback-head")
            with VerticalScroll(id="traceback-body"):
                yield Static(plain(group.sample.text), id="traceback-text")
                yield Static(chain_text(group), id="traceback-chain")
                yield Static(frames_text(group), id="traceback-frames")
                yield Static(why_text(group), id="traceback-why")
            yield Static(Text.assemble(("Esc", "bold"), " close"), id="traceback-help")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
