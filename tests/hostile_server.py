"""A loopback HTTP server that answers anything: the status, headers and body a test scripts, at the pace it
scripts (silence before the status line, a body dripped or dribbled header by header, a gzip bomb, endless
chunks, JSON nested a million deep, a cursor that never ends, a 200 with an error body, wrong types).

Replies are chosen by rules, first match wins (``server.on("GET", "/listall/", Reply.json(...))``, or a
function of the request for replies that change: ``server.on("GET", "listall", lambda request: ...)``).
A request no rule matches goes to ``upstream`` (the emulator) and its answer comes back unchanged, so a
front can run whole against the emulator with one part of the API made hostile. Without an upstream,
an unmatched request gets a 404.

Every request is recorded (``server.requests``), and so is how many body bytes each scripted reply had
sent when the client went away (``server.sent``): a test proves that a client gave up, not by timing it,
but by the bytes it never read. Hangs end when the server closes (the fixture closes it): no test waits
on a real clock longer than its own short deadlines.
"""

from __future__ import annotations

import http.client
import json
import re
import socketserver
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

SEND_TIMEOUT = 10.0  # a client that stops reading cannot hold a server thread longer than this


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``body`` is bytes or a function giving the pieces to send one by one
    (chunked unless ``headers`` has a Content-Length); ``every`` seconds pass before each piece;
    ``silence`` seconds pass before the status line (``float("inf")``: never answers); header lines
    are sent ``header_every`` seconds apart."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | Callable[[], Iterator[bytes]] = b""
    every: float = 0.0
    silence: float = 0.0
    header_every: float = 0.0

    # ------------------------------------------------------------------ the classes of hostile answers
    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, (("Content-Type", "application/json"), *(headers or {}).items()), json.dumps(value).encode())

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/html") -> Reply:
        return cls(status, (("Content-Type", content_type),), text.encode())

    @classmethod
    def drip(cls, body: bytes, every: float, piece: int = 1) -> Reply:
        """``body`` sent ``piece`` bytes at a time, ``every`` seconds apart, with its true Content-Length."""
        pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
        return cls(200, (("Content-Type", "application/json"), ("Content-Length", str(len(body)))),
                   lambda: iter(pieces), every=every)

    @classmethod
    def slow_headers(cls, lines: int, every: float) -> Reply:
        """A valid JSON answer whose ``lines`` header lines come ``every`` seconds apart."""
        filler = tuple((f"X-Filler-{i}", "x") for i in range(lines))
        return cls(200, (("Content-Type", "application/json"), *filler), b'{"msg": []}', header_every=every)

    @classmethod
    def stall(cls) -> Reply:
        """Accepts the request and never answers."""
        return cls(silence=float("inf"))

    @classmethod
    def gzip_bomb(cls, decoded_bytes: int = 64 * 1024 * 1024) -> Reply:
        """A small gzip body (a few tens of KiB) that inflates to ``decoded_bytes`` of spaces."""
        return cls(200, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
                   _gzip_of_spaces(decoded_bytes))

    @classmethod
    def endless_chunks(cls, piece: bytes = b" " * 65536) -> Reply:
        """A chunked body that never ends."""

        def pieces() -> Iterator[bytes]:
            while True:
                yield piece

        return cls(200, (("Content-Type", "application/json"),), pieces)

    @classmethod
    def deep_json(cls, depth: int) -> Reply:
        return cls(200, (("Content-Type", "application/json"),), b"[" * depth + b"]" * depth)


@cache
def _gzip_of_spaces(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.compress(b" " * (size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


Responder = Reply | Callable[[Request], Reply]


@dataclass
class _Rule:
    method: str
    path: re.Pattern[str]
    respond: Responder
    times: int | None


@dataclass
class HostileServer:
    """See the module docstring. ``url`` is ``http://127.0.0.1:PORT``; ``close()`` ends every hang."""

    upstream: str | None = None
    requests: list[Request] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # body bytes of each scripted reply sent before it ended

    def __post_init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._replied = threading.Condition()
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hostile = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def on(self, method: str, path_regex: str, respond: Responder, *, times: int | None = None) -> HostileServer:
        """Answer requests whose method is ``method`` (``*``: any) and whose path matches ``path_regex``."""
        with self._lock:
            self._rules.append(_Rule(method.upper(), re.compile(path_regex), respond, times))
        return self

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def count(self, method: str, path_regex: str, *, since: int = 0) -> int:
        """How many requests (from the ``since``-th on) had this method and a path matching ``path_regex``."""
        pattern = re.compile(path_regex)
        return sum(1 for r in list(self.requests)[since:] if r.method == method and pattern.search(r.path))

    def replies_sent(self, count: int, *, within: float = 30.0) -> list[int]:
        """The body bytes each of the first ``count`` scripted replies had sent when it ended, once they
        all have (a reply ends when the client goes away). ``within`` bounds a stuck test; it is not a
        speed check."""
        with self._replied:
            if not self._replied.wait_for(lambda: len(self.sent) >= count, timeout=within):
                raise AssertionError(f"only {len(self.sent)} of {count} scripted replies ended within {within} s")
            return self.sent[:count]

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # ------------------------------------------------------------------ used by the handler
    def reply_for(self, request: Request) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            for rule in self._rules:
                if rule.method in ("*", request.method) and rule.path.search(request.path):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self._rules.remove(rule)
                    respond = rule.respond
                    break
            else:
                return None
        return respond if isinstance(respond, Reply) else respond(request)


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    hostile: HostileServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``requests``, not a log."""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(SEND_TIMEOUT)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        hostile = self.server.hostile
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                          dict(self.headers.items()), body)
        reply = hostile.reply_for(request)
        if reply is None:
            self._forward(request, parts.query)
            return
        self.close_connection = True
        sent = 0
        try:
            sent = self._send(reply, hostile.stopping)
        except OSError:  # the client went away: that is the point of most replies
            sent = getattr(self, "_sent_so_far", 0)
        with hostile._replied:
            hostile.sent.append(sent)
            hostile._replied.notify_all()

    def _send(self, reply: Reply, stopping: threading.Event) -> int:
        if reply.silence and stopping.wait(min(reply.silence, 3600.0)):  # "never" ends when the server closes
            return 0
        names = {name.lower() for name, _ in reply.headers}
        streamed = callable(reply.body)
        chunked = streamed and "content-length" not in names
        head = [f"HTTP/1.1 {reply.status} {http.client.responses.get(reply.status, 'Whatever')}\r\n".encode()]
        head += [f"{name}: {value}\r\n".encode() for name, value in reply.headers]
        if not streamed and "content-length" not in names:
            head.append(f"Content-Length: {len(reply.body)}\r\n".encode())  # type: ignore[arg-type]
        if chunked:
            head.append(b"Transfer-Encoding: chunked\r\n")
        head.append(b"Connection: close\r\n\r\n")
        for line in head:
            if reply.header_every and stopping.wait(reply.header_every):
                return 0
            self.wfile.write(line)
            self.wfile.flush()
        self._sent_so_far = 0
        pieces: Iterator[bytes] = reply.body() if callable(reply.body) else iter([reply.body])
        for piece in pieces:
            if reply.every and stopping.wait(reply.every):
                return self._sent_so_far
            if stopping.is_set():
                return self._sent_so_far
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            self.wfile.flush()
            self._sent_so_far += len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return self._sent_so_far

    def _forward(self, request: Request, query: str) -> None:
        """The upstream's answer to the same request, unchanged (its framing redone here)."""
        upstream = self.server.hostile.upstream
        if upstream is None:
            self._send(Reply.json({"msg": "no rule for this request"}, 404), self.server.hostile.stopping)
            self.close_connection = True
            return
        target = urlsplit(upstream)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        try:
            connection.request(request.method, request.path + (f"?{query}" if query else ""),
                               body=request.body or None, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            kept = tuple((k, v) for k, v in answer.getheaders()
                         if k.lower() not in ("content-length", "transfer-encoding", "connection"))
        finally:
            connection.close()
        self.close_connection = True
        self._send(Reply(answer.status, kept, body), self.server.hostile.stopping)
