"""Credentials for a PromQL API, read from the environment or files, and kept off every screen.

config.toml only names where a secret lives (an environment variable, a file); the
value is read when a connection is made, wrapped in :class:`Secret` so that no repr,
log line or error message shows it, and :meth:`Credentials.redact` scrubs it from any
text that came back from the network, as sent or as a server echoes it (HTML-escaped,
URL-encoded, JSON-escaped).
"""

from __future__ import annotations

import base64
import functools
import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from errwatch.errors import SourceError

if TYPE_CHECKING:
    from errwatch.config import AuthConfig

MASK = "********"


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__


class CredentialError(SourceError):
    """A named secret cannot be read; ``key`` is the config key that names it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request carries: a bearer token or basic auth, and extra headers."""

    bearer: Secret | None = None
    username: str = ""
    password: Secret | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)

    def request_headers(self) -> dict[str, str]:
        """Headers for every request (the bearer token included)."""
        headers = dict(self.headers or {})
        if self.bearer is not None:
            headers["Authorization"] = f"Bearer {self.bearer.reveal()}"
        return headers

    def basic(self) -> tuple[str, str] | None:
        """The (user, password) pair for requests' ``auth=``, if basic auth is configured."""
        if self.password is None:
            return None
        return (self.username, self.password.reveal())

    def redact(self, text: str) -> str:
        """``text`` with every secret (and its base64 form in an Authorization header)
        masked, in whatever encoding a server echoed it: HTML entities (named, decimal,
        hex), percent-encoding (either case), JSON ``\\u`` escapes, or a mix of them.

        Run it on the text as it will be shown, before any cut: half a token is still a
        secret, and an escaped token only shows once unescaped.
        """
        secrets = {value for value in self._secret_values() if value}
        for value in sorted(secrets, key=len, reverse=True):
            text = _echoes(value).sub(MASK, text)
        return text

    def _secret_values(self) -> list[str]:
        values = list((self.headers or {}).values())
        if self.bearer is not None:
            values.append(self.bearer.reveal())
        if self.password is not None:
            pair = f"{self.username}:{self.password.reveal()}"
            values += [self.password.reveal(), base64.b64encode(pair.encode()).decode()]
        return values


_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/"}


@functools.lru_cache(maxsize=32)
def _echoes(secret: str) -> re.Pattern[str]:
    """``secret`` written any way a server may echo it back, one character at a time."""
    return re.compile("".join(_char_forms(char) for char in secret))


def _char_forms(char: str) -> str:
    code = ord(char)
    utf8 = char.encode()
    forms = [
        re.escape(char),
        "(?i:" + "".join(f"%{byte:02x}" for byte in utf8) + ")",  # percent-encoded
        f"&#0*{code};",  # HTML decimal reference
        f"(?i:&#x0*{code:x};)",  # HTML hex reference
        f"(?i:\\\\u{code:04x})",  # JSON escape
    ]
    named = html.escape(char)
    if named != char:
        forms.append(re.escape(named))  # &amp; &lt; &gt; &quot; &#x27;
    if char == "'":
        forms.append("&apos;")
    if char in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[char]))  # \" \\ \/
    if char == " ":
        forms.append(r"\+")  # a form-encoded space
    return "(?:" + "|".join(forms) + ")"


def _read_secret(
    env_key: str, env_name: str, file_key: str, file_path: str, environ: Mapping[str, str]
) -> Secret | None:
    if env_name:
        value = environ.get(env_name)
        if value is None:
            raise CredentialError(env_key, f"environment variable {env_name} is not set")
        if not value.strip():
            raise CredentialError(env_key, f"environment variable {env_name} is empty")
        return Secret(value.strip())
    if file_path:
        try:
            value = Path(file_path).read_text("utf-8")
        except FileNotFoundError:
            raise CredentialError(file_key, f"file not found: {file_path}") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise CredentialError(file_key, f"cannot read {file_path}: {reason}") from None
        # A trailing newline is how editors save files, never part of a token.
        if not value.strip():
            raise CredentialError(file_key, f"{file_path} is empty")
        return Secret(value.strip())
    return None


def load_credentials(
    auth: AuthConfig,
    headers: Mapping[str, str] | None = None,
    *,
    prefix: str = "prometheus.auth.",
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Read the secrets ``auth`` names; CredentialError names the config key at fault."""
    environ = os.environ if environ is None else environ
    bearer = _read_secret(
        f"{prefix}bearer_token_env",
        auth.bearer_token_env,
        f"{prefix}bearer_token_file",
        auth.bearer_token_file,
        environ,
    )
    password = _read_secret(
        f"{prefix}password_env",
        auth.password_env,
        f"{prefix}password_file",
        auth.password_file,
        environ,
    )
    return Credentials(
        bearer=bearer, username=auth.username, password=password, headers=headers or None
    )
