"""The one transport policy (sg_bitbucket_iac.http): redirects, proxies, and failures below HTTP typed by
exception, each met on a real loopback socket."""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from sg_bitbucket_iac import stackguardian
from sg_bitbucket_iac.bitbucket import BitbucketClient
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import (
    ConnectionDropped,
    ConnectionRefused,
    InvalidHeaderValue,
    NameNotResolved,
    ProxyFailed,
    RequestTimeoutError,
    StackGuardianError,
    TLSHandshakeFailed,
    TransportError,
)
from sg_bitbucket_iac.http import PolicySession, TransportFailure, redirect_allowed, transport_failure
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wire import to_create_payload

ORG = "acme"
KEY = "sgo_test_key"


def payload(secret: str) -> dict[str, Any]:
    connector = parse_connector({"name": "main", "workspace": "acme", "auth": {
        "type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": secret}})
    return to_create_payload(connector, {})


def client_for(emulator: Emulator) -> StackGuardianClient:
    return StackGuardianClient(emulator.stackguardian_url, KEY, ORG, retries=1, backoff=0.01, timeout=(2.0, 5.0))


def test_redirect_rule() -> None:
    assert redirect_allowed("GET", "http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b")
    assert redirect_allowed("HEAD", "https://h/a", "https://H:443/b")
    assert not redirect_allowed("GET", "http://127.0.0.1:8000/a", "http://127.0.0.1:8001/a")  # other port
    assert not redirect_allowed("GET", "https://h/a", "http://h/a")  # downgrade
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        assert not redirect_allowed(method, "https://h/a", "https://h/b")


@pytest.mark.parametrize("status", [307, 308])
def test_a_create_is_never_re_sent_to_another_origin(
    emulator_factory: Callable[..., Emulator], sentinel: str, status: int
) -> None:
    first, other = emulator_factory(), emulator_factory()
    first.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": "integrations",
                                    "status": status,
                                    "headers": {"Location": other.stackguardian_url + f"/api/v1/orgs/{ORG}/"
                                                                                      "integrations/"}})
    with pytest.raises(StackGuardianError) as caught:
        client_for(first).create(payload(sentinel))
    assert f"redirected ({status}); not followed" in str(caught.value)
    assert other.admin("GET", "/stats")["stackguardian"]["total"] == 0
    assert sentinel not in str(caught.value)


def test_a_same_origin_redirect_is_followed_for_reads_only(emulator: Emulator, sentinel: str) -> None:
    client = client_for(emulator)
    client.create(payload(sentinel))
    target = emulator.stackguardian_url + f"/api/v1/orgs/{ORG}/integrations/main/"
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "GET", "path_regex": "integrations/moved",
                                       "status": 302, "headers": {"Location": target}})
    assert client.get("moved")["Id"] == "main"
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "PATCH", "path_regex": "integrations/main",
                                       "status": 308, "headers": {"Location": target}, "times": 1})
    with pytest.raises(StackGuardianError, match="not followed"):
        client.update("main", {"Description": "x"})


@pytest.fixture
def fake_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A listener that records what would have been sent through a proxy, and answers 502."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    stop.set()
    thread.join()
    server.close()


def test_loopback_never_goes_through_a_proxy(
    emulator: Emulator, fake_proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch, sentinel: str
) -> None:
    proxy, seen = fake_proxy
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = client_for(emulator)
    assert client.create(payload(sentinel))["Id"] == "main"
    bitbucket = BitbucketClient(emulator.bitbucket_url, "Bearer " + sentinel, retry_backoff=0)
    assert bitbucket.get("/user").status == 401
    assert seen == []  # neither the API key nor the Bitbucket credential went to the proxy


def test_https_honours_the_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = PolicySession()
    remote = session.merge_environment_settings("https://api.app.stackguardian.io/x", {}, None, None, None)
    assert remote["proxies"].get("https") == "http://proxy.internal:3128"
    local = session.merge_environment_settings("https://127.0.0.1:8443/x", {}, None, None, None)
    assert local["proxies"] == {}
    monkeypatch.setenv("NO_PROXY", "api.app.stackguardian.io")
    bypassed = PolicySession().merge_environment_settings("https://api.app.stackguardian.io/x", {}, None, None, None)
    assert "https" not in bypassed["proxies"]


def test_a_session_reads_the_proxy_environment_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "bitbucket.org")
    reads: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: str | None = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    session = PolicySession()
    answers = [session.merge_environment_settings(url, {}, None, None, None)["proxies"]
               for url in ("https://api.app.stackguardian.io/a", "https://api.app.stackguardian.io/b?x=1",
                           "https://api.bitbucket.org/2.0/user", "https://api.app.stackguardian.io/c")]
    assert len(reads) == 2  # one per origin, not one per request
    assert answers[0] == answers[1] == answers[3] and answers[0].get("https") == "http://proxy.internal:3128"
    assert "https" not in answers[2]  # NO_PROXY still applies per origin
    answers[0]["https"] = "mutated by a caller"
    again = session.merge_environment_settings("https://api.app.stackguardian.io/d", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.internal:3128"
    explicit = session.merge_environment_settings("https://api.app.stackguardian.io/e",
                                                  {"https": "http://other:1"}, None, None, None)
    assert explicit["proxies"]["https"] == "http://other:1"  # a request's own proxies are never cached over


# --------------------------------------------------------------------------- failures below HTTP, by exception type
PROXY_ENV = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
             "no_proxy")
UNRESOLVABLE = "https://sg-bitbucket-iac-test.invalid"  # RFC 2606: .invalid never resolves


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Misbehaving:
    """A loopback listener that reads each request and then fails it one way: ``reset`` (TCP RST),
    ``close`` (closes without an answer), ``silent`` (never answers) or ``plain-http`` (answers a TLS
    handshake in plain HTTP). It keeps each request's first line."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.request_lines: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.behaviour == "plain-http" else "http"
        return f"{scheme}://127.0.0.1:{self._server.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:  # the accept timeout: look at the stop flag again
                continue
            conn.settimeout(5.0)
            with contextlib.suppress(OSError):
                self.request_lines.append(conn.recv(65536).split(b"\r\n", 1)[0])
            if self.behaviour == "silent":
                self._held.append(conn)
                continue
            if self.behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.behaviour == "plain-http":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def misbehaving() -> Iterator[Callable[[str], Misbehaving]]:
    started: list[Misbehaving] = []

    def start(behaviour: str) -> Misbehaving:
        started.append(Misbehaving(behaviour))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def failing_url(misbehaving: Callable[[str], Misbehaving], monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """The base URL of a place that fails the named way; no proxy unless the way is ``proxy``."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)

    def url(kind: str) -> str:
        if kind == "refused":
            return f"http://127.0.0.1:{closed_port()}"
        if kind == "unresolvable":
            return UNRESOLVABLE
        if kind == "proxy":  # the proxy refuses: the target's name is never looked up
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
            return UNRESOLVABLE
        return misbehaving(kind).url

    return url


FAILURES = [("refused", ConnectionRefused), ("unresolvable", NameNotResolved), ("reset", ConnectionDropped),
            ("close", ConnectionDropped), ("silent", RequestTimeoutError), ("plain-http", TLSHandshakeFailed),
            ("proxy", ProxyFailed)]


def in_words(error: type[TransportError], seconds: float) -> str:
    return f"within {seconds:g} s" if error is RequestTimeoutError else error.reason


@pytest.mark.parametrize(("kind", "error"), FAILURES, ids=[kind for kind, _ in FAILURES])
def test_stackguardian_failures_below_http_are_typed_by_exception(
    kind: str, error: type[TransportError], failing_url: Callable[[str], str], sentinel: str
) -> None:
    client = StackGuardianClient(failing_url(kind), "sgo_" + sentinel, ORG, retries=0, backoff=0, timeout=(2.0, 0.3))
    with pytest.raises(TransportError) as caught:
        client.get("main")
    assert type(caught.value) is error, caught.value
    assert in_words(error, 0.3) in str(caught.value) and error.hint in str(caught.value)
    assert sentinel not in str(caught.value)


@pytest.mark.parametrize(("kind", "error"), FAILURES, ids=[kind for kind, _ in FAILURES])
def test_bitbucket_failures_below_http_are_typed_and_said_in_words(
    kind: str, error: type[TransportError], failing_url: Callable[[str], str], sentinel: str
) -> None:
    url = failing_url(kind)
    answer = BitbucketClient(url + "/2.0", "Bearer " + sentinel, retry_backoff=0, timeout=0.3).get("/user")
    assert answer.status is None and answer.transport_failure is error
    host = url.partition("://")[2]
    assert answer.transport_error is not None and host in answer.transport_error
    assert in_words(error, 0.3) in answer.transport_error and sentinel not in answer.transport_error


def test_a_bitbucket_that_cannot_be_reached_says_so_in_the_preflight(failing_url: Callable[[str], str]) -> None:
    from sg_bitbucket_iac.preflight import PreflightStatus, run_preflight

    url = failing_url("refused")
    auth = parse_connector({"name": "x", "workspace": "acme", "auth": {
        "type": "access_token", "access_token": "t" * 24}}).auth
    result = run_preflight(auth, "acme", api_url=url + "/2.0", cache=None, retry_backoff=0)
    assert result.status is PreflightStatus.INCONCLUSIVE
    text = result.summary() + " ".join(check.message for check in result.checks)
    assert f"cannot reach {url.partition('://')[2]}: connection refused" in text
    assert "ConnectionError" not in text


def test_create_gives_up_at_once_only_when_the_connection_was_refused(
    failing_url: Callable[[str], str], misbehaving: Callable[[str], Misbehaving], monkeypatch: pytest.MonkeyPatch,
    sentinel: str,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(stackguardian, "time", SimpleNamespace(sleep=slept.append))
    refused = StackGuardianClient(failing_url("refused"), KEY, ORG, retries=2, backoff=0.01)
    with pytest.raises(ConnectionRefused):
        refused.create(payload(sentinel))
    assert slept == []  # it never reached a server: nothing to look up, nothing to send again
    server = misbehaving("reset")
    dropped = StackGuardianClient(server.url, KEY, ORG, retries=2, backoff=0.01)
    with pytest.raises(ConnectionDropped):
        dropped.create(payload(sentinel))
    # The create may have arrived: after each attempt it was looked up, then sent again.
    assert len(slept) == 2
    assert sum(line.startswith(b"POST ") for line in server.request_lines) == 3
    assert any(line.startswith(b"GET ") for line in server.request_lines)


def test_an_invalid_header_value_is_typed_and_never_quoted(sentinel: str) -> None:
    with pytest.raises(requests.exceptions.InvalidHeader) as raised:  # refused before any connection
        PolicySession().get(f"http://127.0.0.1:{closed_port()}/", headers={"Authorization": f"apikey {sentinel}\n"})
    failure = transport_failure(raised.value)
    assert failure.error is InvalidHeaderValue and sentinel not in failure.reason


def test_any_other_failure_is_a_transport_error_in_the_systems_words() -> None:
    """No route to the host (no loopback socket can fail so): the operating system's words for the errno."""
    unreachable = requests.exceptions.ConnectionError(OSError(errno.ENETUNREACH, "Network is unreachable"))
    assert transport_failure(unreachable) == TransportFailure(TransportError, "network is unreachable")
    with pytest.raises(requests.exceptions.InvalidURL) as raised:
        PolicySession().get("http://")
    # Never the library's message, nor a class name: what it means, in words.
    assert transport_failure(raised.value) == TransportFailure(TransportError, "the URL is not a valid address")
    assert transport_failure(requests.exceptions.ConnectionError()).reason == "the request failed before any answer"


def test_bitbucket_error_bodies_echoing_the_credential_are_scrubbed(emulator: Emulator, sentinel: str) -> None:
    import base64
    import json
    from urllib.parse import quote

    from sg_bitbucket_iac.model import ApiTokenAuth
    from sg_bitbucket_iac.preflight import run_preflight
    from sg_bitbucket_iac.secrets import Secret

    token = sentinel + "-bb/+token"
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme"})
    emulator.admin("POST", "/bitbucket/credentials", {"kind": "api_token", "secret": token, "email": "alice@acme.io",
                                                      "username": "alice", "scopes": ["read:user:bitbucket"],
                                                      "workspaces": ["acme"]})
    basic = base64.b64encode(f"alice@acme.io:{token}".encode()).decode()
    echo = f"denied: Authorization: Basic {basic}; creds alice@acme.io:{token}; {quote(token, safe='')}; {token!r}"
    emulator.admin("POST", "/faults", {"api": "bitbucket", "path_regex": "/user", "status": 403,
                                       "body": {"type": "error", "error": {"message": echo}}})
    auth = ApiTokenAuth(username="alice", email="alice@acme.io", api_token=Secret(token))
    result = run_preflight(auth, "acme", api_url=emulator.bitbucket_url, cache=None, retry_backoff=0)
    text = json.dumps(result.to_dict()) + result.summary()
    assert "denied" in text
    for form in (sentinel, basic[:24], quote(token, safe="")):
        assert form not in text
