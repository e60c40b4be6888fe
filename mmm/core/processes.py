"""Running work in forked processes, where that is safe."""

from __future__ import annotations

import os
import threading


def can_fork() -> bool:
    """Whether forking this process is safe: a POSIX system and no other Python thread running.

    A forked child starts without importing the libraries again (seconds saved), but forking a
    process while another thread may hold a lock can deadlock the child.
    """
    return os.name == "posix" and hasattr(os, "fork") and threading.active_count() == 1
