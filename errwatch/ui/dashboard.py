"""The dashboard's panels, made together over one set of sources.

Imported once the first frame is drawn (see :meth:`errwatch.ui.app.ErrwatchApp.starting`):
the panels' modules import the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from errwatch.config import Config
from errwatch.ui.injection import InjectionPanel
from errwatch.ui.rates import RatesPanel
from errwatch.ui.timeline import AlertBanner, TimelinePanel
from errwatch.ui.tracebacks import TracebackPanel

if TYPE_CHECKING:
    from errwatch.sources import Sources


@dataclass(frozen=True, slots=True)
class DashboardPanels:
    """The dashboard's panels over one set of sources."""

    banner: AlertBanner
    rates: RatesPanel
    tracebacks: TracebackPanel
    timeline: TimelinePanel
    injection: InjectionPanel

    @classmethod
    def over(cls, config: Config, sources: Sources) -> DashboardPanels:
        """Every panel, with the ids the layout (errwatch.tcss) knows them by."""
        return cls(
            banner=AlertBanner(id="alerts"),
            rates=RatesPanel(
                sources.metrics,
                refresh=config.prometheus.refresh,
                span=config.prometheus.range,
                thresholds=config.dashboard,
                panels=config.panels,
                id="rates",
            ),
            tracebacks=TracebackPanel(sources.tracebacks, id="tracebacks"),
            timeline=TimelinePanel(
                sources.incident, report_lang=config.recording.report_lang, id="timeline"
            ),
            injection=InjectionPanel(sources.injector, proxies=sources.proxies, id="injection"),
        )
