"""Where faults may go: loopback only, unless the config names other hosts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from errwatch.errors import UsageError


def is_allowed(host: str, allow_remote: tuple[str, ...] = ()) -> bool:
    """Whether ``host`` is loopback (or ``localhost``) or named in ``allow_remote``."""
    host = host.lower().strip("[]")
    if host == "localhost" or host in {name.lower() for name in allow_remote}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(
    url: str, allow_remote: tuple[str, ...] = (), *, action: str = "inject faults into"
) -> None:
    """Refuse hosts other than loopback unless named in ``allow_remote`` (UsageError)."""
    host = urlsplit(url if "://" in url else f"tcp://{url}").hostname or ""
    if is_allowed(host, allow_remote):
        return
    raise UsageError(
        f"refusing to {action} {host or url}: not a loopback address, and errwatch's faults "
        f'only reach your own machine unless told otherwise. To allow it, add "{host}" to '
        "injection.allow_remote in the config."
    )
