"""Plumbing shared by the emulated APIs: request/response values, a tiny router, the emulated clock.

The emulator is test and demo infrastructure, not product code. Each emulated API is a plain
object with ``handle(request) -> Response``; ``server.py`` puts them behind real HTTP listeners
on 127.0.0.1 and adds fault injection, latency and request statistics in one place.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str  # without query string, percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @classmethod
    def build(cls, method: str, raw_path: str, headers: Mapping[str, str], body: bytes = b"") -> Request:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(raw_path)
        return cls(
            method=method.upper(),
            path=unquote(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """Parsed JSON body; raises ValueError with a short reason when it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return cls(status, json.dumps(payload).encode(), merged)

    @classmethod
    def text(cls, status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "text/plain; charset=utf-8"}
        merged.update(headers or {})
        return cls(status, text.encode(), merged)


Handler = Callable[..., Response]


class Router:
    """Method + path-pattern dispatch. Patterns use `{name}` segments; a trailing slash is optional.

    ``route_template`` of a match (e.g. ``GET /api/v1/orgs/{org}/integrations/listall/``) is what the
    request statistics count by.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/")) + "/?$"
        self._routes.append((method.upper(), re.compile(regex), template, handler))

    def templates(self) -> list[str]:
        """Every route as ``METHOD template``, in the order added."""
        return [f"{method} {template}" for method, _regex, template, _handler in self._routes]

    def match(self, request: Request) -> tuple[str, Handler, dict[str, str]] | None:
        """(route template, handler, path params), or None. A path known under another method -> 405."""
        path_known = False
        for method, regex, template, handler in self._routes:
            found = regex.match(request.path)
            if not found:
                continue
            path_known = True
            if method == request.method:
                return f"{method} {template}", handler, found.groupdict()
        if path_known:
            return (
                f"{request.method} (method not allowed)",
                lambda request, **_: Response.json(405, {"msg": f"Method {request.method} not allowed"}),
                {},
            )
        return None


class EmulatedClock:
    """The emulated services' date. Frozen at an instant when set through the admin API, else real time."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed = fixed
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, instant: datetime | None) -> None:
        with self._lock:
            self._fixed = instant

    @property
    def fixed(self) -> datetime | None:
        return self._fixed

    def epoch_ms(self) -> int:
        return int(self.now().timestamp() * 1000)
