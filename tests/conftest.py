"""Fixtures shared by every test package.

No test sends a request to anything but 127.0.0.1: ``traffic_guard.py`` sets the URL settings and
the proxies to a closed loopback port for the whole session and refuses, and reports, any other
connection made in this process (see there).

``emulator`` is function-scoped: starting one costs a few milliseconds (three loopback listeners)
and closing one about one, so each test gets fresh state and no test can leak data, faults or the
clock into another. ``emulator_factory`` starts more, with other switches.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bitbucket_spec import SpecCheck
from hostile_server import HostileServer
from traffic_guard import GUARD_ENV, guard_environment, install_socket_guard, refused_count, refused_since

from sg_bitbucket_iac import settings
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.preflight import DEFAULT_CACHE

ORG = "acme"
API_KEY = "sgo_test_key"
FIXED_CLOCK = "2026-01-15T00:00:00Z"  # inside the app-password deprecation window
SETTINGS_ENV = (*settings.ENV_API_KEY, *settings.ENV_API_URL, *settings.ENV_ORG, *settings.ENV_BITBUCKET_API_URL,
                *settings.ENV_PREFLIGHT)


@pytest.fixture(scope="session", autouse=True)
def _traffic_stays_on_this_machine() -> Iterator[None]:
    """The URL settings and proxies name a closed loopback port unless a test sets its own; no socket of
    this process connects anywhere but loopback."""
    with guard_environment(), install_socket_guard():
        yield


@pytest.fixture(autouse=True)
def _no_connection_left_this_machine() -> Iterator[None]:
    """A test whose code tried to connect elsewhere fails, even when the code under test swallowed the error."""
    mark = refused_count()
    yield
    refused = refused_since(mark)
    assert not refused, (f"this test tried to connect to {', '.join(refused)}; tests talk to the emulator on "
                         "127.0.0.1 only (set its URLs)")


@pytest.fixture
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings come only from what a test passes; the product clock is fixed; no cached preflight.

    The URL settings keep the traffic guard's closed loopback port (never the real services' defaults)."""
    for name in SETTINGS_ENV:
        if name in GUARD_ENV:
            monkeypatch.setenv(name, GUARD_ENV[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", FIXED_CLOCK)
    DEFAULT_CACHE.clear()
    yield
    DEFAULT_CACHE.clear()


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Starts emulators with chosen switches (``factory(secret_read_mode="omit")``), each seeded
    with org ``acme`` and key ``sgo_test_key`` through the admin API; all are closed at teardown.

    Every answer of their emulated Bitbucket is checked against Atlassian's published spec
    (``bitbucket_spec.py``); a test whose traffic leaves the spec fails at teardown."""
    started: list[tuple[Emulator, SpecCheck]] = []

    def start(**switches: Any) -> Emulator:
        emulator = Emulator(**switches)
        started.append((emulator, SpecCheck().attach(emulator)))
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        return emulator

    yield start
    for emulator, _check in started:
        emulator.close()
    problems = [problem for _emulator, check in started for problem in check.problems]
    assert not problems, "emulated Bitbucket answers outside the published spec:\n" + "\n".join(problems[:20])


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A started emulator with org ``acme`` and API key ``sgo_test_key``."""
    return emulator_factory()


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Emulator:
    """The same as ``emulator`` (already one per test); the name says so where it matters."""
    return emulator


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    """Starts loopback servers that answer whatever a test scripts (``hostile_server.py``):
    ``hostile()`` alone, or ``hostile(upstream=emulator.stackguardian_url)`` in front of an emulated API.
    All are closed at teardown, which ends every stalled or endless answer."""
    started: list[HostileServer] = []

    def start(upstream: str | None = None) -> HostileServer:
        started.append(HostileServer(upstream))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def sg_org() -> str:
    return ORG


@pytest.fixture
def sg_api_key() -> str:
    return API_KEY


@pytest.fixture
def sentinel() -> str:
    """A secret value that must never appear in any output, log, report or exception text."""
    return "SENTINEL-" + secrets.token_hex(12)
