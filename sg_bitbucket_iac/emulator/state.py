"""Everything the emulator remembers, one lock over all of it, and its persistence to a JSON file.

One ``threading.RLock`` guards the orgs, keys, connectors and the Bitbucket state (the
``bitbucket`` package's ``BitbucketState``), because a StackGuardian read consults the Bitbucket
state (is the stored credential still good?) and the admin API edits both; one lock makes every
request atomic without lock-ordering rules.

Persistence (``--state FILE``): loaded at start; after every mutating request a writer thread saves
the whole state (debounced, so a burst of writes costs one save) to a temporary file in the same
directory and ``os.replace``-s it over FILE, so a crash never leaves a half-written file. ``close``
flushes.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..timeline import parse_instant
from .bitbucket import BitbucketState
from .core import EmulatedClock

STATE_FORMAT_VERSION = 1


class EmulatorState:
    """Orgs with their API keys, connectors per org, pinned Authentication blocks, Bitbucket data."""

    def __init__(self, clock: EmulatedClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or EmulatedClock()
        self.org_keys: dict[str, list[str]] = {}
        self.connectors: dict[str, dict[str, dict[str, Any]]] = {}
        # Authentication blocks set through the admin API; they win over the computed value.
        self.pinned_authentication: dict[str, dict[str, dict[str, Any]]] = {}
        self.bitbucket = BitbucketState()

    # ------------------------------------------------------------------ orgs and keys
    def add_org(self, org: str, api_keys: list[str]) -> None:
        """Create ``org`` if needed and add the keys it does not have yet."""
        with self.lock:
            keys = self.org_keys.setdefault(org, [])
            keys.extend(k for k in api_keys if k not in keys)
            self.connectors.setdefault(org, {})

    def orgs_of_key(self, api_key: str) -> set[str]:
        with self.lock:
            return {org for org, keys in self.org_keys.items() if api_key in keys}

    def org_connectors(self, org: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return self.connectors.setdefault(org, {})

    # ------------------------------------------------------------------ (de)serialisation
    def to_json(self) -> dict[str, Any]:
        with self.lock:
            fixed = self.clock.fixed
            return {
                "version": STATE_FORMAT_VERSION,
                "clock": fixed.isoformat() if fixed is not None else None,
                "orgs": {org: list(keys) for org, keys in self.org_keys.items()},
                "connectors": self.connectors,
                "pinned_authentication": self.pinned_authentication,
                "bitbucket": self.bitbucket.to_json(),
            }

    def load_json(self, data: dict[str, Any]) -> None:
        """Replace the contents with a saved state (``to_json`` output)."""
        version = data.get("version")
        if version != STATE_FORMAT_VERSION:
            raise ValueError(f"state file format version {version!r} is not {STATE_FORMAT_VERSION}")
        with self.lock:
            clock_text = data.get("clock")
            self.clock.set(parse_instant(clock_text) if clock_text else None)
            self.org_keys = {str(org): [str(k) for k in keys] for org, keys in (data.get("orgs") or {}).items()}
            self.connectors = data.get("connectors") or {}
            for org in self.org_keys:
                self.connectors.setdefault(org, {})
            self.pinned_authentication = data.get("pinned_authentication") or {}
            raw = data.get("bitbucket")
            self.bitbucket = BitbucketState.from_json(raw) if raw else BitbucketState()


def load_state_file(path: str | os.PathLike[str], state: EmulatorState) -> bool:
    """Load a saved state into ``state`` if the file exists; True when it did."""
    file = Path(path)
    if not file.exists():
        return False
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file} does not hold an emulator state object")
    state.load_json(data)
    return True


class StateFile:
    """Saves an ``EmulatorState`` to ``path`` atomically, debounced, from a writer thread."""

    def __init__(self, path: str | os.PathLike[str], state: EmulatorState, debounce_s: float = 0.05) -> None:
        self.path = Path(path)
        self._state = state
        self._debounce_s = debounce_s
        self._dirty = threading.Event()
        self._stopping = False
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="emulator-state-writer", daemon=True)
        self._thread.start()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def flush(self) -> None:
        """Write now, whatever the debounce."""
        with self._write_lock:
            self._dirty.clear()
            with self._state.lock:  # the snapshot holds live dicts: serialise before anyone edits them
                text = json.dumps(self._state.to_json(), indent=1, sort_keys=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp_name, self.path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise

    def close(self) -> None:
        self._stopping = True
        self._dirty.set()
        self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping:
                return
            # Let a burst of writes land before saving once.
            time.sleep(self._debounce_s)
            if self._stopping:
                return
            self.flush()

