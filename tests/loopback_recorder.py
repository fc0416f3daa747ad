"""A loopback recorder: where every request of a front really went, and that nothing left this machine.

``LoopbackRecorder`` is a tiny HTTP server on 127.0.0.1 that records every request line exactly as
it arrived (method, raw target, whether it carried an Authorization header) and forwards it to an
upstream (the emulator), or answers it from a rule a test sets (a hostile record from the server).
A front pointed at two recorders (StackGuardian's and Bitbucket's) shows which paths it reached:
``outside(prefix)`` lists every request line that left the API's prefix.

``network_guard`` refuses every name lookup of a host that is not loopback and remembers it: a
test that ends with an empty guard proves that no request, and so no credential, went elsewhere.
(A uniquely named helper module: tests run in prepend import mode.)
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

SG_PREFIX = "/api/v1/orgs/acme/integrations/"
BB_PREFIX = "/2.0/"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_HOP_BY_HOP = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})


@dataclass(frozen=True)
class RequestLine:
    method: str
    target: str  # the raw request target, as the client wrote it
    authorized: bool  # whether it carried an Authorization header


@dataclass
class Rule:
    """Answer requests matching ``method`` and ``path`` (a regex on the raw target) with ``answer(body)``:
    the upstream's JSON answer (None when not forwarded) in, a (status, JSON) pair out."""

    method: str
    path: re.Pattern[str]
    answer: Callable[[Any], tuple[int, Any]]
    forward: bool = True


@dataclass
class LoopbackRecorder:
    upstream: str | None = None  # "http://127.0.0.1:PORT"; None: every unanswered request gets 404
    lines: list[RequestLine] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: no 40 ms wait for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _any(self) -> None:
                recorder.handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ what tests set and read
    def answer(self, method: str, path_regex: str, answer: Callable[[Any], tuple[int, Any]], *,
               forward: bool = True) -> None:
        self.rules.append(Rule(method, re.compile(path_regex), answer, forward))

    def outside(self, prefix: str) -> list[RequestLine]:
        """Every request line whose path is not under ``prefix``, or holds a segment a server could read as a
        step elsewhere (``.``, ``..``, an encoded ``/`` or ``\\``, also %-escaped)."""
        def leaves(target: str) -> bool:
            path = target.split("?", 1)[0]
            segments = [unquote(segment) for segment in path.split("/")]
            return not path.startswith(prefix) or any(
                segment in (".", "..") or "/" in segment or "\\" in segment for segment in segments)

        return [line for line in self.lines if leaves(line.target)]

    def methods(self) -> list[str]:
        return [line.method for line in self.lines]

    # ------------------------------------------------------------------ serving
    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        self.lines.append(RequestLine(request.command, request.path, "Authorization" in request.headers))
        rule = next((r for r in self.rules if r.method == request.command and r.path.search(request.path)), None)
        if rule is not None:
            upstream = self._forward(request, body)[2] if rule.forward and self.upstream else b""
            status, payload = rule.answer(json.loads(upstream) if upstream else None)
            self._reply(request, status, [("Content-Type", "application/json")], json.dumps(payload).encode())
            return
        if self.upstream is None:
            self._reply(request, 404, [("Content-Type", "application/json")], b'{"msg": "not found"}')
            return
        self._reply(request, *self._forward(request, body))

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self.upstream is not None
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(request.command, request.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP], data
        finally:
            connection.close()

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)


@dataclass
class Recorders:
    """One recorder in front of each emulated API: base URLs of the same form as the settings."""

    stackguardian: LoopbackRecorder
    bitbucket: LoopbackRecorder

    @property
    def stackguardian_url(self) -> str:
        return self.stackguardian.url

    @property
    def bitbucket_url(self) -> str:
        return self.bitbucket.url + "/2.0"

    def requests(self) -> int:
        return len(self.stackguardian.lines) + len(self.bitbucket.lines)

    def assert_inside(self) -> None:
        """No request left its API's prefix (the org's integrations, Bitbucket's /2.0/)."""
        outside = self.stackguardian.outside(SG_PREFIX) + self.bitbucket.outside(BB_PREFIX)
        assert not outside, f"requests outside the expected prefixes: {outside}"


@pytest.fixture
def recorders(emulator: Any) -> Iterator[Recorders]:
    """Recorders forwarding to the test's emulator (StackGuardian, and Bitbucket under /2.0)."""
    sg = LoopbackRecorder(emulator.stackguardian_url)
    bb = LoopbackRecorder(emulator.bitbucket_url.removesuffix("/2.0"))
    try:
        yield Recorders(sg, bb)
    finally:
        sg.close()
        bb.close()


@pytest.fixture
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every host looked up that is not loopback is refused (no connection is ever made) and listed."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.strip("[]") not in _LOOPBACK:
            attempts.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "refused by the test's network guard")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts


def hostile_record(record: dict[str, Any], connector_id: str) -> dict[str, Any]:
    """A copy of a real record under an Id that must never reach a URL."""
    return {**record, "Id": connector_id, "ResourceId": f"/integrations/{connector_id}"}


__all__ = ["BB_PREFIX", "SG_PREFIX", "LoopbackRecorder", "Recorders", "RequestLine", "hostile_record",
           "network_guard", "recorders"]
