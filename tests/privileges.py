"""Make the kernel's permission checks bite in a child process, even when tests run as root."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def _drop_file_permission_override() -> None:
    """In the child, before exec: root without these capabilities obeys file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def obeying_file_modes() -> Callable[[], None] | None:
    """A ``preexec_fn`` for subprocess: None when not root (modes already apply)."""
    return _drop_file_permission_override if os.geteuid() == 0 else None
