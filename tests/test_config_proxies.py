"""[[proxies]] in config.toml: read, checked across keys, shown by `errwatch config check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from errwatch.config import dump_config, load_config
from errwatch.errors import ConfigError

HTTP = """
[[proxies]]
name = "inventory"
listen = "127.0.0.1:8081"
upstream = "http://127.0.0.1:8080"
[proxies.fault]
kind = "delay"
delay = "2s"
ratio = 0.5
route = "/stock/*"
duration = "30s"
"""
TCP = """
[[proxies]]
name = "redis"
listen = ":6380"
upstream = "tcp://127.0.0.1:6379"
[proxies.fault]
kind = "refuse"
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_proxies_are_read_with_their_fault_and_dumped_back(tmp_path: Path) -> None:
    config = load(tmp_path, HTTP + TCP)
    inventory, redis = config.proxies  # type: ignore[attr-defined]
    assert (inventory.name, inventory.tcp, redis.tcp) == ("inventory", False, True)
    assert inventory.fault.delay == 2.0 and inventory.fault.duration == 30.0
    assert inventory.fault.ratio == 0.5 and inventory.fault.route == "/stock/*"
    assert redis.fault.kind == "refuse" and redis.fault.ratio == 1.0
    dumped = dump_config(config)  # type: ignore[arg-type]
    assert '[[proxies]]\nname = "inventory"' in dumped
    assert '[proxies.fault]\nkind = "delay"' in dumped
    assert load(tmp_path, dumped).proxies == config.proxies  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TCP.replace('"refuse"', '"abort"'), 'proxies[1].fault.kind: "abort" answers an HTTP'),
        (HTTP.replace('"delay"', '"refuse"'), 'proxies[1].fault.kind: "refuse" is for tcp://'),
        (TCP + 'route = "/x"\n', "proxies[1].fault.route: only http:// links have routes"),
        (HTTP + HTTP, 'proxies: two proxies are named "inventory"'),
        (HTTP + HTTP.replace('"inventory"', '"other"'), "proxies[2].listen: 127.0.0.1:8081 is"),
        (HTTP.replace("0.5", "0"), "proxies[1].fault.ratio: must be above 0 and at most 1"),
        (HTTP.replace("/stock/*", "stock"), "proxies[1].fault.route: must be a path glob"),
        (TCP.replace("tcp://127.0.0.1:6379", "redis://x"), "proxies[1].upstream: expected"),
        (TCP.replace(":6380", "here"), 'proxies[1].listen: invalid address "here"'),
        (HTTP + "status = 200\n", "proxies[1].fault.status: must be an HTTP error status"),
        ('[[proxies]]\nname = "x"\nlisten = ":1"\n', "proxies[1].upstream: missing"),
    ],
)
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
