"""Credentials masked on the text as shown: a server on loopback echoes the token it was
sent back in its error page, HTML-escaped, URL-encoded, JSON-escaped, across the point
where errwatch cuts what it shows; the state's detail never holds a piece of it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote

import pytest

from errwatch.config import AuthConfig, PrometheusConfig
from errwatch.core.metrics.auth import MASK
from errwatch.core.metrics.promql import SHOWN_CHARS
from errwatch.core.metrics.rates import SourceState
from errwatch.core.metrics.source import PrometheusSource
from tests.loopback import Reply, loopback

TOKEN = "eyJhbGciOiJIUzI1NiJ9/eyJzdWIiOiJlcnJ3YXRjaCJ9+c2lnbmF0dXJl=="
"""A bearer token as they come: base64 with '/', '+' and '='."""
PASSWORD = 'p&ss<w0rd>"quoted"'
"""A basic-auth password with the characters HTML and JSON escape."""
PINNED = {"metric": "http_requests_total", "status_label": "status", "job": "api"}
"""Discovery pinned: the first request is the rate query."""
FILLER = "x" * (SHOWN_CHARS - 20)
"""Text before the echo, so that the point where errwatch cuts falls inside it."""


def owasp(text: str) -> str:
    """HTML-escaped as OWASP's encoders do it: '/' as &#x2F;, '+' and '=' as references."""
    return "".join(f"&#x{ord(c):x};" if c in "/+=" else html.escape(c) for c in text)


def lower_hex(encoded: str) -> str:
    """Percent-encoding with lowercase hex digits, as some servers write it."""
    return re.sub(r"%[0-9A-F]{2}", lambda found: found.group().lower(), encoded)


def page(echo: str) -> Reply:
    """A proxy's 502 page whose title echoes what it was sent."""
    body = f"<html><head><title>{FILLER} Bearer {echo}</title></head><body></body></html>"
    return Reply(status=502, content_type="text/html; charset=utf-8", body=body.encode())


def refusal(echo: str) -> Reply:
    """An engine's JSON error quoting what it was sent (Go's encoder escapes <, > and &)."""
    message = f"{FILLER} invalid credentials {echo}"
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": message})
    body = body.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Reply(status=400, body=body.encode())


def pieces(secret: str, size: int = 6) -> set[str]:
    """Every run of ``size`` characters of the secret, as sent and as echoed."""
    forms = {secret, owasp(secret), quote(secret, safe=""), html.escape(secret)}
    return {form[i : i + size] for form in forms for i in range(len(form) - size + 1)}


def detail_of(reply: Callable[[str], Reply], auth: AuthConfig, environ: dict[str, str]) -> str:
    """The detail a poll shows when the server answers ``reply(what it was sent)``."""
    with loopback() as server:

        def echo(path: str) -> Reply:
            _, headers = server.requests[-1]
            sent = headers.get("Authorization", "").removeprefix("Bearer ")
            if auth.password_env:  # basic auth: echo the password itself, decoded
                sent = PASSWORD
            return reply(sent)

        server.route = echo
        cfg = PrometheusConfig(url=server.url, timeout=2.0, auth=auth, **PINNED)  # type: ignore[arg-type]
        source = PrometheusSource(cfg, environ=environ)
        snapshot = source.poll()
        source.close()
    assert snapshot.state in (SourceState.QUERY_ERROR, SourceState.BAD_QUERY), snapshot.detail
    return snapshot.detail


BEARER = (AuthConfig(bearer_token_env="PROM_TOKEN"), {"PROM_TOKEN": TOKEN}, TOKEN)
BASIC = (
    AuthConfig(username="errwatch", password_env="PROM_PASSWORD"),
    {"PROM_PASSWORD": PASSWORD},
    PASSWORD,
)


@pytest.mark.parametrize(
    ("reply", "credentials"),
    [
        (lambda sent: page(owasp(sent)), BEARER),
        (lambda sent: page(quote(sent, safe="")), BEARER),
        (lambda sent: page(lower_hex(quote(sent, safe=""))), BEARER),
        (page, BEARER),
        (refusal, BEARER),
        (lambda sent: page(html.escape(sent)), BASIC),
        (refusal, BASIC),
    ],
    ids=[
        "html-references",
        "url-encoded",
        "url-encoded-lowercase",
        "raw-across-the-cut",
        "json-escaped",
        "password-html-escaped",
        "password-json-escaped",
    ],
)
def test_an_echoed_secret_is_masked_as_shown(
    reply: Callable[[str], Reply], credentials: tuple[AuthConfig, dict[str, str], str]
) -> None:
    auth, environ, secret = credentials
    detail = detail_of(reply, auth, environ)
    shown = [piece for piece in pieces(secret) if piece in detail]
    assert shown == [], f"{shown} in {detail!r}"
    assert MASK[:4] in detail  # masked where it stood (cut or whole), not dropped
    assert FILLER[:50] in detail  # the rest of the answer is still said
