"""Killing a real engine's run right after StackGuardian stored a create (a uniquely named helper module).

The emulator holds the create's answer back (a latency fault that runs after the write is stored), the
test waits until the record is there, then kills: what a cancelled CI job or a crashed provider does.
Only processes this test started are killed, by their ids.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sg_bitbucket_iac.emulator import Emulator

WAIT_SECONDS = 90.0  # a failure limit, not a measurement


def hold_the_create_answer(emu: Emulator, seconds: int = 30) -> None:
    """The next connector create is stored at once and answered ``seconds`` later."""
    emu.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": r"integrations/?$",
                                  "after": True, "latency_ms": seconds * 1000, "times": 1})


def wait_until_stored(read: Callable[[], dict[str, Any] | None], running: Callable[[], bool]) -> dict[str, Any]:
    """The record ``read`` returns, once StackGuardian stored it; fails if the run ended first or nothing
    came in time."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = read()
        if record is not None:
            return record
        if not running():
            raise AssertionError("the run ended before the connector was stored")
        if time.monotonic() > deadline:
            raise AssertionError(f"the connector was not stored within {WAIT_SECONDS:.0f} s")
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
