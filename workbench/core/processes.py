"""Whether another process still runs: one answer for the fleet workers watching their owner and for the local
platform's pid file, on POSIX (zombies count as gone) and on Windows (where os.kill(pid, 0) would send Ctrl+C)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs; one we may not signal counts as running, an unreaped zombie as gone."""
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited orphan nobody reaped yet (a container without an init) is a zombie: not running
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _alive_windows(pid: int) -> bool:  # pragma: no cover - Windows
    """OpenProcess + GetExitCodeProcess: STILL_ACTIVE (259) while the process runs."""
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
    finally:
        kernel32.CloseHandle(handle)
