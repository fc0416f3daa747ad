"""The test suite's traffic guard (tests/traffic_guard.py): a forgotten URL fails on 127.0.0.1, never elsewhere."""

from __future__ import annotations

import os
import socket

import pytest
import requests
from traffic_guard import (
    CLOSED_PORT,
    GUARD_ENV,
    REMOVED_ENV,
    UNSET_BITBUCKET_URL,
    UNSET_STACKGUARDIAN_URL,
    expect_refused,
    guarded,
    registry_env,
)

from sg_bitbucket_iac.errors import ConnectionRefused
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient


def test_the_session_points_every_url_and_proxy_at_a_closed_loopback_port() -> None:
    for name, value in GUARD_ENV.items():
        assert os.environ[name] == value
    assert not any(name in os.environ for name in REMOVED_ENV)
    settings = Settings.resolve(api_key="sgo_guard_key", org="acme")
    assert (settings.api_url, settings.bitbucket_api_url) == (UNSET_STACKGUARDIAN_URL, UNSET_BITBUCKET_URL)


def test_a_client_without_its_url_fails_loudly_on_loopback() -> None:
    client = StackGuardianClient.from_settings(Settings.resolve(api_key="sgo_guard_key", org="acme"),
                                               retries=0)
    try:
        with pytest.raises(ConnectionRefused) as caught:
            client.find("c1")
    finally:
        client.close()
    assert CLOSED_PORT in str(caught.value) or "127.0.0.1" in str(caught.value)


def test_any_other_host_goes_to_the_closed_proxy_port_not_out() -> None:
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://api.bitbucket.org/2.0/user", timeout=5)


def test_a_socket_to_anywhere_but_loopback_is_refused_and_reported() -> None:
    with expect_refused() as refused, socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed
    assert refused == ["192.0.2.1:443"]
    with socket.socket() as listener:  # loopback is fine
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname(), timeout=5):
            pass


def test_harness_environments_keep_the_guard_and_registries_get_the_sessions_proxies() -> None:
    env = guarded({"PATH": "/bin", "https_proxy": "http://leaky:3128"})
    assert env["STACKGUARDIAN_API_URI"] == UNSET_STACKGUARDIAN_URL and "https_proxy" not in env
    assert guarded({"BITBUCKET_API_URL": "http://127.0.0.1:5/2.0"})["BITBUCKET_API_URL"] == "http://127.0.0.1:5/2.0"
    own = Settings.resolve(api_key="k", environ=guarded({"SG_BASE_URL": "http://127.0.0.1:5"}))
    assert own.api_url == "http://127.0.0.1:5"  # a test's own URL, under either name, wins over the guard
    assert not any(registry_env().get(name) == value for name, value in GUARD_ENV.items() if "PROXY" in name)
