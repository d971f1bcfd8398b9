"""Credentials against real servers: vmauth (the auth proxy VictoriaMetrics ships) in front
of a real VictoriaMetrics, asking basic auth or a bearer token, over TLS with a test CA."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from errwatch.cli import main
from errwatch.config import AuthConfig, PrometheusConfig
from errwatch.core.metrics.auth import Credentials, Secret
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from errwatch.demo.process import free_port, spawn, tail_of, terminate
from errwatch.demo.prometheus import find_binary
from errwatch.demo.victoria import VictoriaMetricsServer, find_victoria_metrics
from tests.conftest import require_binary

USER, PASSWORD, TOKEN = "errwatch", "pa55-w0rd-xyz", "t0ken-abc-123"


@dataclass
class Servers:
    url: str
    ca_file: Path


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_certificates(workdir: Path) -> None:
    """A test CA and a certificate for 127.0.0.1 signed by it."""
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=errwatch test CA",
        cwd=workdir,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=workdir,
    )  # fmt: skip
    (workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
        cwd=workdir,
    )  # fmt: skip


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vmauth exited: {tail_of(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"vmauth not listening: {tail_of(log)}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    vm_bin = require_binary("victoria-metrics", find_victoria_metrics())
    vmauth_bin = require_binary("vmauth", find_binary("vmauth"))
    require_binary("openssl", find_binary("openssl"))
    workdir = tmp_path_factory.mktemp("auth")
    make_certificates(workdir)
    vm = VictoriaMetricsServer(vm_bin, workdir, [])
    vm.start()
    port = free_port()
    (workdir / "auth.yml").write_text(
        "users:\n"
        f'  - bearer_token: "{TOKEN}"\n    url_prefix: "{vm.url}"\n'
        f'  - username: "{USER}"\n    password: "{PASSWORD}"\n    url_prefix: "{vm.url}"\n'
    )
    log = workdir / "vmauth.log"
    proxy = spawn(
        [
            vmauth_bin,
            f"-auth.config={workdir / 'auth.yml'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-tls",
            f"-tlsCertFile={workdir / 'server.pem'}",
            f"-tlsKeyFile={workdir / 'server.key'}",
            "-loggerLevel=WARN",
        ],
        log=log,
    )
    try:
        wait_listening(port, proxy, log)
        yield Servers(f"https://127.0.0.1:{port}", workdir / "ca.pem")
    finally:
        terminate(proxy)
        vm.stop()


def poll(servers: Servers, environ: dict[str, str], **settings: object) -> tuple[SourceState, str]:
    settings.setdefault("ca_file", str(servers.ca_file))
    cfg = PrometheusConfig(url=servers.url, timeout=2.0, **settings)  # type: ignore[arg-type]
    snapshot = PrometheusSource(cfg, environ=environ).poll()
    return snapshot.state, snapshot.detail


BASIC = AuthConfig(username=USER, password_env="PROM_PASSWORD")
BEARER = AuthConfig(bearer_token_env="PROM_TOKEN")


def test_basic_auth_with_the_password_from_an_environment_variable(servers: Servers) -> None:
    state, detail = poll(servers, {"PROM_PASSWORD": PASSWORD}, auth=BASIC)
    assert state.answered, detail  # the engine answered (it scrapes nothing: no data)


def test_a_bearer_token_from_a_file(servers: Servers, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # as editors save it
    state, detail = poll(servers, {}, auth=AuthConfig(bearer_token_file=str(token_file)))
    assert state.answered, detail


@pytest.mark.parametrize(
    ("auth", "environ"),
    [
        (BASIC, {"PROM_PASSWORD": "wrong-one"}),
        (BEARER, {"PROM_TOKEN": "wrong-one"}),
        (AuthConfig(), {}),
    ],
    ids=["wrong-password", "wrong-token", "none"],
)
def test_refused_credentials_are_unauthorized_and_never_shown(
    servers: Servers, auth: AuthConfig, environ: dict[str, str]
) -> None:
    state, detail = poll(servers, environ, auth=auth)
    assert state is SourceState.UNAUTHORIZED, detail
    assert detail.endswith("(see [prometheus.auth])")
    # vmauth echoes the token it could not find: the detail masks it.
    assert "wrong-one" not in detail


def test_a_certificate_from_an_unknown_ca_is_refused_with_a_hint(servers: Servers) -> None:
    state, detail = poll(servers, {"PROM_TOKEN": TOKEN}, auth=BEARER, ca_file="")
    assert state is SourceState.UNREACHABLE
    assert detail.startswith("TLS: the certificate of 127.0.0.1:")
    assert "ca_file" in detail


def test_tls_verification_can_be_turned_off(servers: Servers) -> None:
    settings = {"auth": BEARER, "ca_file": "", "tls_verify": False}
    state, _ = poll(servers, {"PROM_TOKEN": TOKEN}, **settings)
    assert state.answered


def test_credentials_never_print_themselves() -> None:
    credentials = Credentials(bearer=Secret(TOKEN), headers={"X-Api-Key": "k3y-v4lue"})
    assert TOKEN not in repr(credentials) and TOKEN not in str(credentials.bearer)
    assert "k3y-v4lue" not in repr(credentials)
    assert (
        credentials.redact(f"got Bearer {TOKEN} and k3y-v4lue")
        == "got Bearer ******** and ********"
    )
    basic = Credentials(username=USER, password=Secret(PASSWORD))
    # requests sends "Basic base64(user:password)": that form is a secret too.
    assert basic.redact("Authorization: Basic ZXJyd2F0Y2g6cGE1NS13MHJkLXh5eg==") == (
        "Authorization: Basic ********"
    )


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (
            'bearer_token = "abc"',
            "prometheus.auth.bearer_token: secrets do not go in the config file; name an "
            "environment variable (bearer_token_env) or a file (bearer_token_file) instead",
        ),
        (
            'bearer_token_env = "ERRWATCH_UNSET_VARIABLE"',
            "prometheus.auth.bearer_token_env: environment variable ERRWATCH_UNSET_VARIABLE "
            "is not set",
        ),
        (
            'username = "u"',
            "prometheus.auth.username: needs password_env or password_file",
        ),
        (
            'bearer_token_env = "HOME"\nusername = "u"\npassword_env = "HOME"',
            "prometheus.auth: a bearer token and basic auth are exclusive: choose one",
        ),
        (
            'password_file = "missing.txt"\nusername = "u"',
            "prometheus.auth.password_file: file not found: {dir}/missing.txt",
        ),
    ],
    ids=["secret-in-file", "unset-env", "user-without-password", "both", "missing-file"],
)
def test_auth_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], auth: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[prometheus.auth]\n{auth}\n")
    assert main(["--config", str(path), "check", "--duration", "1s"]) == 2
    expected = message.format(dir=tmp_path.resolve())
    assert capsys.readouterr().err == f"errwatch: {path}: {expected}\n"


def test_credentials_in_the_url_are_refused_without_echoing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[prometheus]\nurl = "http://admin:hunter2@localhost:9090"\n')
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"errwatch: {path}: prometheus.url: no credentials in the URL; use [prometheus.auth]\n"
    )
    assert "hunter2" not in err


def test_a_token_file_fixed_while_running_is_read_again(servers: Servers, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("expired-token\n")
    cfg = PrometheusConfig(
        url=servers.url,
        timeout=2.0,
        ca_file=str(servers.ca_file),
        auth=AuthConfig(bearer_token_file=str(token_file)),
    )
    source = PrometheusSource(cfg, environ={})
    refused = source.poll()
    assert refused.state is SourceState.UNAUTHORIZED, refused.detail
    token_file.write_text(TOKEN + "\n")  # rotated, as a secret manager does
    again = source.poll()
    assert again.state.answered, again.detail
    source.close()
