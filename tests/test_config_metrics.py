"""The metrics part of config.toml: panels, labels, headers, TLS; one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from errwatch.config import PanelConfig, load_config
from errwatch.errors import ConfigError


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_panels_are_read_in_order_with_their_unit(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[[panels]]\nexpr = "sum(up)"\ntitle = "targets up"\n'
        '[[panels]]\nexpr = "scrape_duration_seconds"\ntitle = "scrape"\nunit = "s"\n',
    )
    assert config.panels == (  # type: ignore[attr-defined]
        PanelConfig("sum(up)", "targets up"),
        PanelConfig("scrape_duration_seconds", "scrape", "s"),
    )


def test_headers_tls_and_a_ca_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not checked here")
    config = load(
        tmp_path,
        '[prometheus]\nheaders = { "X-Scope-OrgID" = "team-a" }\nca_file = "ca.pem"\n',
    )
    prometheus = config.prometheus  # type: ignore[attr-defined]
    assert dict(prometheus.headers) == {"X-Scope-OrgID": "team-a"}
    assert prometheus.ca_file == str(tmp_path.resolve() / "ca.pem")
    assert prometheus.tls_verify is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[panels]]\nexpr = " "\ntitle = "x"\n', "panels[1].expr: must not be empty"),
        ('[[panels]]\nexpr = "up"\n', "panels[1].title: missing (this key is required)"),
        (
            '[prometheus]\nstatus_label = "status-code"\n',
            'prometheus.status_label: not a label name: "status-code"',
        ),
        (
            '[prometheus]\nmetric = "http requests"\n',
            'prometheus.metric: not a metric name: "http requests"',
        ),
        (
            "[prometheus]\nheaders = { X-Team = 1 }\n",
            "prometheus.headers.X-Team: expected a string, got integer 1",
        ),
        (
            '[prometheus]\nca_file = "missing.pem"\n',
            "prometheus.ca_file: file not found: {dir}/missing.pem",
        ),
        (
            '[prometheus]\ntls_verify = false\nca_file = "config.toml"\n',
            "prometheus.ca_file: is ignored when tls_verify = false: remove one of them",
        ),
    ],
    ids=[
        "empty-expr",
        "no-title",
        "label",
        "metric",
        "header-type",
        "ca-missing",
        "ca-and-no-verify",
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    path = tmp_path / "config.toml"
    assert str(raised.value) == f"{path}: {problem.format(dir=tmp_path.resolve())}"


def test_an_empty_route_label_turns_the_split_off(tmp_path: Path) -> None:
    config = load(tmp_path, '[prometheus]\nroute_label = ""\n')
    assert config.prometheus.route_label == ""  # type: ignore[attr-defined]
