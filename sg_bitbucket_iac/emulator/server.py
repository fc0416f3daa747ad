"""The :class:`Emulator`: three loopback HTTP listeners (StackGuardian, Bitbucket, admin) over one state.

Why the standard library's ``http.server`` and not a web framework: fault injection must be able
to close a connection without sending any response (what a client meets when a proxy drops it)
and to answer with an error *after* the real handler stored a write. Owning the socket in a
``BaseHTTPRequestHandler`` gives both, with no dependency. The handlers speak HTTP/1.1 with
``Content-Length`` and keep-alive, so a client's connection pool reuses connections as it does
against the real services.

Ports: ``port=0`` gives each listener an ephemeral port. ``port=P`` uses P (StackGuardian), P+1
(Bitbucket) and P+2 (admin).

Only loopback hosts are accepted unless ``allow_remote=True``: the emulator has no authentication
on its admin API and holds test secrets, so it must not be reachable from other machines by
accident.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from types import TracebackType
from typing import Any, Protocol

from .. import timeline
from .admin import AdminApi
from .bitbucket import BitbucketApi
from .core import Request, Response, Router
from .faults import FaultInjector, RequestStats
from .stackguardian import StackGuardianApi
from .state import EmulatorState, StateFile, load_state_file
from .switches import StackGuardianOptions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SWITCHES_ENV = "SG_BITBUCKET_IAC_EMULATOR_SWITCHES"  # e.g. "list_item_wrap=true,patch_answer=stale"
IDLE_CONNECTION_TIMEOUT_S = 120
POLL_INTERVAL_S = 0.5


class EmulatedApi(Protocol):
    """An emulated service: ``(route template for the stats, response)`` for each request."""

    def handle(self, request: Request) -> tuple[str, Response]: ...


class EmulatorAdminError(Exception):
    """The admin API refused a call made through :meth:`Emulator.admin`."""

    def __init__(self, status: int, msg: str) -> None:
        super().__init__(f"admin API answered {status}: {msg}")
        self.status = status
        self.msg = msg


def _route_finder(service: EmulatedApi) -> Callable[[Request], str]:
    """How to name a request's route without handling it (a fault answered before the handler ran).

    Uses the service's ``route_template(request)`` or its ``router``; else method and path.
    """
    template_of = getattr(service, "route_template", None)
    if callable(template_of):
        return lambda request: str(template_of(request))
    router = getattr(service, "router", None)
    if isinstance(router, Router):
        def from_router(request: Request) -> str:
            found = router.match(request)
            return found[0] if found else f"{request.method} (unknown)"

        return from_router
    return lambda request: f"{request.method} {request.path}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Dispatch = Callable[[Request], Response | None]


class _Listener(ThreadingHTTPServer):
    """One HTTP listener; remembers its open connections so that ``close`` can end idle keep-alives."""

    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 makes bursts of parallel clients wait for SYN retries
    timeout = POLL_INTERVAL_S  # how long handle_request waits for a connection before checking `stopping`

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(address, _RequestHandler)

    def serve_until_stopped(self) -> None:
        while not self.stopping.is_set():
            self.handle_request()

    def stop(self) -> None:
        """End the accept loop now: set the flag, then wake the loop with a connection of our own."""
        self.stopping.set()
        host, port = str(self.server_address[0]), int(self.server_address[1])
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=1).close()

    def close_connections(self) -> None:
        with self.connections_lock:
            open_sockets = list(self.connections)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away; nothing to report
        super().handle_error(request, client_address)


class _Listener6(_Listener):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sg-bitbucket-emulator"
    sys_version = ""
    timeout = IDLE_CONNECTION_TIMEOUT_S
    # Buffered writes (flushed once per response) and TCP_NODELAY: without them the status line and
    # the body leave in separate segments and Nagle plus delayed ACK add ~40 ms to every request.
    wbufsize = 64 * 1024
    server: _Listener

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would clutter test output (and paths are no business of stderr)."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        request = Request.build(self.command, self.path, dict(self.headers.items()), body)
        try:
            response = self.server.dispatch(request)
        except Exception as error:  # a bug in an emulated API: answer 500 rather than hang the client
            self.server.handle_error(self.request, self.client_address)
            response = Response.json(500, {"msg": f"emulator error: {type(error).__name__}"})
        if response is None:
            self.close_connection = True  # the fault "drop": no status line, no headers, just EOF
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class Emulator:
    """The emulated StackGuardian and Bitbucket APIs plus the admin API, started on construction.

    ``switches`` are the [assumed] behaviours of :class:`StackGuardianOptions` (e.g.
    ``secret_read_mode="omit"``, ``list_item_wrap=True``), over those named in the environment
    variable ``SG_BITBUCKET_IAC_EMULATOR_SWITCHES`` (``name=value,...``); ``now`` freezes the emulated clock;
    ``random_seed`` makes probabilistic faults repeatable.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | PathLike[str] | None = None,
        now: datetime | str | None = None,
        random_seed: int | None = None,
        allow_remote: bool = False,
        options: StackGuardianOptions | None = None,
        **switches: Any,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"host {host!r} is not a loopback address; pass allow_remote=True to expose it")
        # Switches from the environment first (so that a whole test tier, or a subprocess started
        # with `sg-bitbucket emulator`, runs on other server behaviours), then the explicit ones.
        from_env = StackGuardianOptions.from_text(os.environ.get(SWITCHES_ENV, ""))
        self.options = dataclasses.replace(options or StackGuardianOptions(), **{**from_env, **switches})
        self.state = EmulatorState()
        if state_file is not None:
            load_state_file(state_file, self.state)
        if now is not None:
            self.state.clock.set(timeline.now(now))  # a naive datetime is taken as UTC
        self.faults = FaultInjector(random_seed)
        self.stats = RequestStats()
        self.stackguardian = StackGuardianApi(self.state, self.options)
        self.bitbucket = BitbucketApi(self.state.bitbucket, self.state.clock, self.state.lock)
        self.admin_api = AdminApi(self.state, self.stackguardian, self.faults, self.stats)
        self._store = StateFile(state_file, self.state) if state_file is not None else None
        self._closed = False
        self._listeners: list[_Listener] = []
        self._threads: list[threading.Thread] = []
        try:
            dispatchers = (
                self._api_dispatch("stackguardian", self.stackguardian),
                self._api_dispatch("bitbucket", self.bitbucket),
                self._serve_admin,
            )
            for offset, dispatch in enumerate(dispatchers):
                self._listen(host, port + offset if port else 0, dispatch)
        except BaseException:
            self.close()
            raise
        sg, bb, admin = (self._url(host, listener) for listener in self._listeners)
        self.stackguardian_url = sg
        self.bitbucket_url = bb + "/2.0"
        self.admin_url = admin

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the listeners, end open connections, and save the state file one last time."""
        if self._closed:
            return
        self._closed = True
        for listener in self._listeners:
            listener.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        for listener in self._listeners:
            listener.close_connections()
            listener.server_close()
        if self._store is not None:
            self._store.close()

    @property
    def urls(self) -> dict[str, str]:
        """The three base URLs, as ``sg-bitbucket emulator`` prints them."""
        return {
            "stackguardian_url": self.stackguardian_url,
            "bitbucket_url": self.bitbucket_url,
            "admin_url": self.admin_url,
        }

    def admin(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        """Call the admin API over HTTP (as another process would); raises EmulatorAdminError on 4xx/5xx."""
        import requests

        response = requests.request(method, self.admin_url + path, json=json, timeout=60)
        payload = response.json() if response.content else {}
        if response.status_code >= 400:
            raise EmulatorAdminError(response.status_code, str(payload.get("msg", payload)))
        return dict(payload)

    def flush_state(self) -> None:
        """Write the state file now (it is otherwise written shortly after each change and on close)."""
        if self._store is not None:
            self._store.flush()

    # ------------------------------------------------------------------ plumbing
    def _listen(self, host: str, port: int, dispatch: Dispatch) -> None:
        listener_class = _Listener6 if ":" in host else _Listener
        listener = listener_class((host, port), dispatch)
        self._listeners.append(listener)
        thread = threading.Thread(
            target=listener.serve_until_stopped,
            name=f"emulator-listener-{listener.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    @staticmethod
    def _url(host: str, listener: _Listener) -> str:
        port = listener.server_address[1]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def _changed(self) -> None:
        if self._store is not None:
            self._store.mark_dirty()

    def _api_dispatch(self, name: str, service: EmulatedApi) -> Dispatch:
        """Faults, latency, statistics and persistence around one emulated API."""
        route_of = _route_finder(service)

        def dispatch(request: Request) -> Response | None:
            with self.stats.answering(name):
                return answer(request)

        def answer(request: Request) -> Response | None:
            plan = self.faults.plan(name, request.method, request.path)
            if plan.latency_before_s:
                time.sleep(plan.latency_before_s)
            fault = plan.fault
            if fault is not None and not fault.after:
                self.stats.record(name, request.method, route_of(request))
                return fault.response()
            route, response = service.handle(request)
            self.stats.record(name, request.method, route)
            if request.method not in SAFE_METHODS and response.status < 400:
                self._changed()
            if plan.latency_after_s:
                time.sleep(plan.latency_after_s)
            return fault.response() if fault is not None else response

        return dispatch

    def _serve_admin(self, request: Request) -> Response:
        _route, response = self.admin_api.handle(request)
        if request.method not in SAFE_METHODS and response.status < 400:
            self._changed()
        return response
