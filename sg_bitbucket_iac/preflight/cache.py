"""Preflight results per credential for this process, keyed by an HMAC, never by the secret."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..model import AnyAuth
from ..secrets import cache_key
from .result import PreflightResult, PreflightStatus


class PreflightCache:
    """Results per credential for this process, keyed by an HMAC (``secrets.cache_key``), never the secret.

    Inconclusive results are not kept: the advice for them is to retry. Concurrent runs for the same
    key wait for the first, so one credential is checked once even under ``--parallelism``.
    """

    def __init__(self) -> None:
        self._results: dict[str, PreflightResult] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get_or_run(self, key: str, run: Callable[[], PreflightResult]) -> PreflightResult:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._results.get(key)
            if cached is not None:
                return replace(cached, from_cache=True, requests_made=0)
            result = run()
            if result.status is not PreflightStatus.INCONCLUSIVE:
                self._results[key] = result
            return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        return len(self._results)


DEFAULT_CACHE = PreflightCache()


def preflight_cache_key(auth: AnyAuth, workspace: str, api_url: str, repositories: Sequence[str]) -> str:
    """What makes two preflights the same: credential, identity, target and API URL."""
    return cache_key(
        "preflight/v2",
        auth.auth_type.value,
        auth.secret.reveal(),
        *auth.identity(),
        workspace,
        api_url,
        "\x1f".join(repositories),
    )

