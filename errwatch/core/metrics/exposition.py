"""Reading a text exposition (/metrics) with prometheus-client's parser."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from errwatch.core.metrics.rates import normalize_status
from errwatch.errors import SourceError

Sample = tuple[Mapping[str, str], float]


def read_counters(text: str, metric: str) -> list[Sample]:
    """The samples of the ``metric`` counter in a text exposition: (labels, value)."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise SourceError(
            "direct scraping needs prometheus-client: pip install 'errwatch[demo]'"
        ) from None
    family_name = metric.removesuffix("_total")
    samples: list[Sample] = []
    try:
        for family in text_string_to_metric_families(text):
            if family.name not in (family_name, metric):
                continue
            samples.extend(
                (sample.labels, sample.value)
                for sample in family.samples
                if sample.name == metric and math.isfinite(sample.value)
            )
    except ValueError as error:
        raise SourceError(f"unreadable /metrics: {error}") from None
    return samples


def read_series(text: str) -> tuple[dict[str, list[Mapping[str, str]]], dict[str, str]]:
    """Every sample's labels by sample name, and each name's type, from an exposition."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise SourceError(
            "direct scraping needs prometheus-client: pip install 'errwatch[demo]'"
        ) from None
    series: dict[str, list[Mapping[str, str]]] = {}
    kinds: dict[str, str] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                series.setdefault(sample.name, []).append(sample.labels)
                kinds.setdefault(sample.name, family.type)
    except ValueError as error:
        raise SourceError(f"unreadable /metrics: {error}") from None
    return series, kinds


def statuses_only(counts: Mapping[str, float]) -> dict[str, float]:
    """Counts by normalized status; values that are not statuses left out."""
    found: dict[str, float] = {}
    for raw, value in counts.items():
        status = normalize_status(raw)
        if status is not None:
            found[status] = found.get(status, 0.0) + value
    return found


def sum_by(samples: Iterable[Sample], label: str) -> dict[str, float]:
    """Counter values summed by one label ("?" where it is missing)."""
    counts: dict[str, float] = {}
    for labels, value in samples:
        key = labels.get(label, "?")
        counts[key] = counts.get(key, 0.0) + value
    return counts


def parse_counters(text: str, metric: str, status_label: str) -> dict[str, float]:
    """Sum the ``metric`` counter by ``status_label`` in a text exposition."""
    return sum_by(read_counters(text, metric), status_label)
