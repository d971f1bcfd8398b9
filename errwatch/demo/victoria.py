"""A real VictoriaMetrics on a free loopback port: the other PromQL engine errwatch reads.

It scrapes with a Prometheus-format config and reports ``up`` per target as Prometheus
does. Two flags matter: VictoriaMetrics hides the last 30 s of data by default
(``-search.latencyOffset``) and caches range results; both are turned off so that a
dashboard sees what was just scraped.
"""

from __future__ import annotations

from errwatch.demo.prometheus import ScrapingServer, find_binary


def find_victoria_metrics() -> str | None:
    """The victoria-metrics binary on PATH or Debian's /usr/bin one, else None."""
    return find_binary("victoria-metrics")


class VictoriaMetricsServer(ScrapingServer):
    """One single-node VictoriaMetrics; it flushes its data when stopped."""

    name = "victoria-metrics"
    ready_path = "/health"

    def argv(self) -> list[str]:
        """VictoriaMetrics on loopback, showing what it just scraped."""
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            f"-promscrape.config={self.config_path}",
            # The config is Prometheus's own (evaluation_interval included), read as is.
            "-promscrape.config.strictParse=false",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-loggerLevel=WARN",
        ]
