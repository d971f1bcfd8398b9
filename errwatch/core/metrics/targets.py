"""Where the API is among the scrape targets: its job and instance, from /api/v1/targets.

``localhost`` and ``127.0.0.1`` are the same host; the target's address
(``__address__``, else its scrape URL) and its ``instance`` label are both compared with
the API's host and port.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Target:
    """One active scrape target, from ``/api/v1/targets``."""

    job: str
    instance: str
    address: str
    health: str = ""
    scrape_interval: float | None = None
    last_error: str = ""


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost", "0.0.0.0", "::"}


def host_port(url_or_address: str) -> tuple[str, int | None]:
    """(host, port) of a URL or a ``host:port`` address; localhost and 127.0.0.1 are one."""
    text = url_or_address if "//" in url_or_address else f"//{url_or_address}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None and parts.scheme in ("http", "https"):
        port = 443 if parts.scheme == "https" else 80
    return ("loopback" if host in _LOOPBACK else host), port


def _seconds(text: Any) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(text or ""))
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value * (60 if match.group(2) == "m" else 1)


def parse_targets(data: Any) -> tuple[Target, ...]:
    """The active targets of a ``/api/v1/targets`` answer (Prometheus or VictoriaMetrics)."""
    active = data.get("activeTargets") if isinstance(data, dict) else None
    targets = []
    for item in active if isinstance(active, list) else ():
        if not isinstance(item, dict):
            continue
        raw = item.get("labels")
        labels: dict[str, Any] = raw if isinstance(raw, dict) else {}
        discovered = item.get("discoveredLabels")
        address = ""
        if isinstance(discovered, dict):
            address = str(discovered.get("__address__", ""))
        if not address and item.get("scrapeUrl"):
            address = urlsplit(str(item["scrapeUrl"])).netloc
        targets.append(
            Target(
                job=str(labels.get("job", "")),
                instance=str(labels.get("instance", "")),
                address=address or str(labels.get("instance", "")),
                health=str(item.get("health", "")),
                scrape_interval=_seconds(item.get("scrapeInterval")),
                last_error=str(item.get("lastError") or ""),
            )
        )
    return tuple(targets)


def _is_api(target: Target, wanted: tuple[str, int | None]) -> bool:
    return wanted in (host_port(target.address), host_port(target.instance))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the API is among the targets: its job and instance, or why not found."""

    job: str
    instance: str
    targets: tuple[Target, ...]
    problem: str = ""
    closest: tuple[str, ...] = ()


def place(
    targets: Sequence[Target], target_url: str, job: str = AUTO, instance: str = AUTO
) -> Placement:
    """The job and instance scraping the API at ``target_url`` (config values win).

    ``instance`` "auto": the target whose address is the API's, else every instance of
    the job (replicas behind the URL errwatch injects into); "" is every instance.
    """
    if not targets and job == AUTO:
        return Placement(
            "",
            "",
            (),
            problem="the engine has no active scrape target (just started? Prometheus "
            "looks at its targets ~5 s after start)",
        )
    if not target_url and job == AUTO:
        # No API address to look for (a source built without one): a Prometheus that
        # scrapes a single job can only mean that job.
        jobs = sorted({t.job for t in targets})
        if len(jobs) != 1:
            return Placement(
                "",
                "",
                (),
                problem=f"no API address to find among {len(jobs)} jobs: set prometheus.job",
            )
        return Placement(jobs[0], "" if instance == AUTO else instance, tuple(targets))
    wanted = host_port(target_url)
    matching = [t for t in targets if _is_api(t, wanted)]
    if job != AUTO:
        matching = [t for t in matching if t.job == job]
    elif len({t.job for t in matching}) > 1:
        # The same address in several jobs (a blackbox probe...): the one with most targets
        # is rarely right; prefer a job that scrapes nothing else, then the first.
        jobs = sorted({t.job for t in matching}, key=lambda j: sum(t.job == j for t in targets))
        matching = [t for t in matching if t.job == jobs[0]]
    if job == AUTO and not matching:
        host, port = wanted
        near = [t for t in targets if host_port(t.address)[1] == port] or list(targets)
        shown = tuple(f"{t.job}: {t.address} ({t.health or '?'})" for t in near[:5])
        where = f"{'localhost' if host == 'loopback' else host}:{port}"
        return Placement(
            "",
            "",
            (),
            problem=f"no scrape target has the API's address {where} "
            "(is the API scraped? set prometheus.job if Prometheus reaches it by another name)",
            closest=shown,
        )
    chosen_job = job if job != AUTO else matching[0].job
    of_job = tuple(t for t in targets if t.job == chosen_job)
    chosen = instance if instance != AUTO else (matching[0].instance if matching else "")
    mine = tuple(t for t in of_job if t.instance == chosen) if chosen else of_job
    return Placement(chosen_job, chosen, mine or of_job)
