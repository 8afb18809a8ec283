"""Signalling the rest of a process group whose leader is gone (``portal run``'s supervisor, and a restarted
gunicorn master taking over from its dead predecessor's workers: services/cli/supervisor.py)."""

from __future__ import annotations

import contextlib
import os


def signal_leaderless_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pgid`` whose leader (pid ``pgid``) has exited and been reaped. A live
    process with that pid is another one that took the pid over: then the group is not the one meant, and
    is left alone. (A pid stays taken while its group has members, so the group itself cannot be another's.)"""
    try:
        os.kill(pgid, 0)
        return
    except ProcessLookupError:
        pass
    except PermissionError:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
