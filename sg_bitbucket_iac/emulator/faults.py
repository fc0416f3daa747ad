"""Fault injection and request statistics for the emulated APIs.

A fault is a rule (admin ``POST /faults``) that matches requests by API, method and path regex and
then delays them, answers with another status, or drops the connection. Rules are checked in the
order they were added:

* latency-only rules (no ``status``, no ``drop``) all apply and their delays add up;
* of the rules with a ``status`` or ``drop``, the first that matches (and wins its probability
  draw) decides the outcome, so two rules with ``times: 1`` play as a queue (429, then 503, ...);
* ``times`` counts the requests a rule has fired on; at zero the rule is removed. Absent ``times``
  means until ``DELETE /faults``; absent ``probability`` means 1.0;
* ``after: true`` runs the real handler first (the write is stored) and then replaces the answer,
  which is how a client meets "503 although the connector was created".

Statistics count every request that reached an emulated API, fault-injected ones included, by
method and by route template (``GET /api/v1/orgs/{org}/integrations/listall/``).
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .core import Response

APIS = ("stackguardian", "bitbucket")
BITBUCKET_RATE_LIMIT_TEXT = "Rate limit for this resource has been exceeded"
_FAULT_KEYS = frozenset(
    {
        "api",
        "path_regex",
        "method",
        "status",
        "times",
        "probability",
        "latency_ms",
        "reset",
        "drop",
        "after",
        "body",
        "headers",
        "content_type",
    }
)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def default_fault_response(api: str, status: int) -> Response:
    """What each real service sends for an error it generates itself.

    Bitbucket: docs/evidence.md#bitbucket-error-and-status-shapes; StackGuardian:
    docs/evidence.md#stackguardian-wire-format.
    """
    if api == "bitbucket":
        if status == 429:
            # Bitbucket's 429 is plain text and carries no Retry-After
            # (docs/evidence.md#bitbucket-rate-limits-pagination-and-expiry).
            return Response.text(429, BITBUCKET_RATE_LIMIT_TEXT)
        return Response.json(status, {"type": "error", "error": {"message": _phrase(status)}})
    return Response.json(status, {"msg": _phrase(status)})


def _optional_int(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"`{key}` must be an integer from {low} to {high}")
    return value


@dataclass
class Fault:
    """One fault rule as posted to the admin API."""

    id: int
    api: str
    path_regex: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    times: int | None = None
    probability: float = 1.0
    latency_ms: int = 0
    drop: bool = False
    after: bool = False
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def from_json(cls, fault_id: int, data: Any) -> Fault:
        """Validate an admin ``POST /faults`` body; ValueError names the bad key."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        unknown = sorted(set(data) - _FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(unknown)}")
        api = data.get("api")
        if api not in APIS:
            raise ValueError(f"`api` must be one of {', '.join(APIS)}")
        pattern = data.get("path_regex", "")
        if not isinstance(pattern, str):
            raise ValueError("`path_regex` must be a string (a Python regular expression)")
        try:
            path_regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"`path_regex` is not a valid regular expression: {exc}") from None
        method = data.get("method")
        if method is not None and not isinstance(method, str):
            raise ValueError("`method` must be a string such as POST")
        probability = data.get("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise ValueError("`probability` must be a number from 0 to 1")
        headers = data.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ValueError("`headers` must be an object of strings")
        content_type = data.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise ValueError("`content_type` must be a string")
        fault = cls(
            id=fault_id,
            api=api,
            path_regex=path_regex,
            method=method.upper() if method else None,
            status=_optional_int(data, "status", 100, 599),
            times=_optional_int(data, "times", 1, 10**9),
            probability=float(probability),
            latency_ms=_optional_int(data, "latency_ms", 0, 600_000) or 0,
            drop=bool(data.get("drop", False)),
            after=bool(data.get("after", False)),
            body=data.get("body"),
            headers={str(k): v for k, v in headers.items()},
            content_type=content_type,
        )
        if fault.status is None and not fault.drop and not fault.latency_ms:
            raise ValueError("a fault needs `status`, `drop: true` or `latency_ms`")
        return fault

    @property
    def latency_only(self) -> bool:
        return self.status is None and not self.drop

    def matches(self, api: str, method: str, path: str) -> bool:
        return (
            api == self.api
            and (self.method is None or self.method == method)
            and self.path_regex.search(path) is not None
        )

    def response(self) -> Response | None:
        """The injected answer; None means: close the connection without answering."""
        if self.drop or self.status is None:
            return None
        if self.body is None:
            response = default_fault_response(self.api, self.status)
        elif isinstance(self.body, str):
            response = Response.text(self.status, self.body)
        else:
            response = Response.json(self.status, self.body)
        if self.content_type:
            response.headers["Content-Type"] = self.content_type
        response.headers.update(self.headers)
        return response

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "api": self.api,
            "path_regex": self.path_regex.pattern,
            "method": self.method,
            "status": self.status,
            "times": self.times,
            "probability": self.probability,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
            "after": self.after,
            "body": self.body,
            "headers": self.headers,
            "content_type": self.content_type,
        }


@dataclass
class FaultPlan:
    """What the server does to one request: wait, then maybe replace the answer (before or after)."""

    latency_before_s: float = 0.0
    latency_after_s: float = 0.0
    fault: Fault | None = None


class FaultInjector:
    """The active fault rules; thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, data: Any) -> Fault:
        with self._lock:
            if isinstance(data, dict) and data.get("reset"):
                self._faults.clear()
            fault = Fault.from_json(self._next_id, data)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def plan(self, api: str, method: str, path: str) -> FaultPlan:
        """Decide (and count down) the faults for one request."""
        plan = FaultPlan()
        with self._lock:
            if not self._faults:
                return plan
            for fault in list(self._faults):
                if not fault.matches(api, method, path):
                    continue
                if not fault.latency_only and plan.fault is not None:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                seconds = fault.latency_ms / 1000
                if fault.after:
                    plan.latency_after_s += seconds
                else:
                    plan.latency_before_s += seconds
                if not fault.latency_only:
                    plan.fault = fault
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return plan


class RequestStats:
    """Request counts per emulated API, by method and by route template, and the requests still being
    answered (``in_flight``: a request whose client gave up on a slow answer may still write later); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_method: dict[str, Counter[str]] = {api: Counter() for api in APIS}
        self._by_route: dict[str, Counter[str]] = {api: Counter() for api in APIS}
        self._in_flight: Counter[str] = Counter()

    @contextmanager
    def answering(self, api: str) -> Iterator[None]:
        """Count one request of ``api`` as in flight while it is answered (latency included)."""
        with self._lock:
            self._in_flight[api] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[api] -= 1

    def record(self, api: str, method: str, route: str) -> None:
        with self._lock:
            self._by_method[api][method] += 1
            self._by_route[api][route] += 1

    def reset(self) -> None:
        with self._lock:
            for api in APIS:
                self._by_method[api].clear()
                self._by_route[api].clear()

    def to_json(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                api: {
                    "total": sum(self._by_method[api].values()),
                    "by_method": dict(self._by_method[api]),
                    "by_route": dict(self._by_route[api]),
                    "in_flight": self._in_flight[api],
                }
                for api in APIS
            }
