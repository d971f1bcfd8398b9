"""The chart's colours and views: plotext-free, so the first frame does not wait for plotext."""

from __future__ import annotations

from enum import StrEnum

Colour = tuple[int, int, int]
"""RGB, understood by plotext as is and by Rich through :func:`rich_colour`."""

CLASS_COLOURS: dict[str, Colour] = {
    "2xx": (80, 200, 80),
    "3xx": (0, 175, 175),
    "4xx": (230, 180, 0),
    "5xx": (235, 65, 65),
}
# Codes of one class get shades of its colour, in order, so the by-code view stays readable.
_CODE_SHADES: dict[str, tuple[Colour, ...]] = {
    "2": ((80, 200, 80), (150, 235, 120), (40, 140, 60)),
    "3": ((0, 175, 175), (120, 220, 220)),
    "4": ((230, 180, 0), (240, 230, 100), (190, 120, 0)),
    "5": ((235, 65, 65), (255, 140, 160), (170, 30, 30)),
}
OTHER: Colour = (200, 200, 200)
SPAN_COLOURS: dict[str, Colour] = {
    "injection": (200, 90, 220),
    "fault": (255, 150, 40),
    "alert": (235, 65, 65),
    "mark": (90, 150, 255),
}
WARNING: Colour = (230, 180, 0)
CRITICAL: Colour = (235, 65, 65)
APP_RATIO: Colour = (255, 150, 40)
RATIO_FLOOR = 0.1
"""Lowest 5xx percentage the ratio view draws (its log scale has no 0)."""
RATIO_TICKS = (1.0, 10.0, 100.0)
"""The application-only 5xx ratio in the ratio view; the all-routes ratio is CRITICAL red."""


def rich_colour(colour: Colour) -> str:
    """The same colour for Rich text (the table beside the chart doubles as its legend)."""
    return f"rgb({colour[0]},{colour[1]},{colour[2]})"


class ChartView(StrEnum):
    """What the chart shows; ``c`` goes to the next one."""

    CLASS = "by class"
    CODE = "by code"
    RATIO = "5xx ratio"
    INSTANCE = "by instance"

    def next(self, *, instances: int = 1) -> ChartView:
        """The view after this one, wrapping around; "by instance" only with several."""
        views = [v for v in ChartView if v is not ChartView.INSTANCE or instances > 1]
        at = views.index(self) if self in views else len(views) - 1
        return views[(at + 1) % len(views)]


INSTANCE_COLOURS: tuple[Colour, ...] = (
    (235, 65, 65),
    (255, 150, 40),
    (230, 180, 0),
    (90, 150, 255),
    (0, 175, 175),
    (200, 90, 220),
    (80, 200, 80),
    (200, 200, 200),
)
"""By instance: the worst first, in red, then cooler colours down the ranking."""


def instance_colour(rank: int) -> Colour:
    """The colour of the instance ranked ``rank`` (0: the worst 5xx ratio)."""
    return INSTANCE_COLOURS[min(rank, len(INSTANCE_COLOURS) - 1)]


def tick_label(seconds_ago: float) -> str:
    """-4m, -1m15, -30s, now."""
    if seconds_ago == 0:
        return "now"
    minutes, seconds = divmod(int(seconds_ago), 60)
    if not minutes:
        return f"-{seconds}s"
    return f"-{minutes}m{seconds:02d}" if seconds else f"-{minutes}m"


def series_colours(statuses: list[str]) -> dict[str, Colour]:
    """A colour per status (sorted): its class colour, shaded for several codes of a class."""
    colours: dict[str, Colour] = {}
    used: dict[str, int] = {}
    for status in sorted(statuses):
        if status in CLASS_COLOURS:
            colours[status] = CLASS_COLOURS[status]
            continue
        shades = _CODE_SHADES.get(status[:1], (OTHER,))
        index = used.get(status[:1], 0)
        used[status[:1]] = index + 1
        colours[status] = shades[index % len(shades)]
    return colours
