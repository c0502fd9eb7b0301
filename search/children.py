"""Forked helper processes that end with the process that forked them.

A reindex forks helpers: NER workers, Whoosh's writer processes. Killed outright
(SIGKILL, the OOM killer) it cannot stop them, and one that lives on keeps a core
and its memory for a run nobody waits for, or sits blocked on a queue for ever.
Linux's parent-death signal ends them with it, however it dies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """In a forked child: be killed when ``parent`` dies (strictly: when the thread
    that forked this child ends, so fork from a thread that lives as long as the
    work, as the reindex's main thread does)."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
