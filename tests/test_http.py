"""The one transport policy (sg_bitbucket_iac.http): redirects, proxies, scrubbed transport errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sg_bitbucket_iac.bitbucket import BitbucketClient
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import StackGuardianError, TransportError
from sg_bitbucket_iac.http import PolicySession, redirect_allowed, transport_error_text
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


def test_transport_errors_never_quote_the_library_text(sentinel: str) -> None:
    error = requests.exceptions.InvalidHeader(f"Invalid header value b'apikey {sentinel}\\n'")
    assert sentinel not in transport_error_text(error, [sentinel])
    assert "header value is invalid" in transport_error_text(error, [sentinel])
    odd = requests.exceptions.InvalidURL(f"http://user:{sentinel}@host")
    assert sentinel not in transport_error_text(odd, [sentinel])


def test_a_refused_connection_is_a_transport_error(sentinel: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = StackGuardianClient(f"http://127.0.0.1:{port}", KEY, ORG, retries=0, backoff=0)
    with pytest.raises(TransportError, match="connection refused") as caught:
        client.create(payload(sentinel))
    assert sentinel not in str(caught.value) and KEY not in str(caught.value)


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
