"""No test sends a request anywhere but 127.0.0.1: a forgotten URL fails loudly here instead of leaving the machine.

Every harness points what it runs at the emulator (its URLs in the provider or stack config, or in
the environment). This is the net under that, installed for the whole session by ``conftest.py``:

* **Settings**: ``STACKGUARDIAN_API_URI`` and ``BITBUCKET_API_URL`` name a closed port on loopback
  (their paths say what was forgotten), and ``SG_BASE_URL`` is unset, whatever the shell had. The
  StackGuardian URL goes into the name read last (``SG_BASE_URL`` is read first), so a test that sets
  either name wins over the guard. A front, a plugin or a CLI started without its URLs then fails
  with "connection refused" on 127.0.0.1 instead of calling api.app.stackguardian.io or
  api.bitbucket.org with a test's credentials (a preflight at preview once did). A test sets its own
  values over these, never deletes them: harnesses that drop the settings from an environment put
  these back (:func:`guarded`).
* **Proxies**: ``NO_PROXY`` names loopback, so the emulator's traffic never goes to a proxy, and
  ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` name the same closed port, so whatever an HTTP client
  (requests, Go, npm, pip) sends to any other host fails on 127.0.0.1 too. The lower-case names are
  removed: requests prefers them to the upper-case ones, and gRPC (the engines talking to their
  plugins on loopback) reads only them. Only the package-registry clients of the SDK builds (npm,
  go, pip) get the session's own proxy settings back (:func:`registry_env`).
* **Sockets**: in this process, a connection to anything but loopback is refused and fails the
  test that tried it (:func:`install_socket_guard`).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

CLOSED_PORT = "127.0.0.1:1"  # nothing listens there: a request fails at once, on this machine
UNSET_STACKGUARDIAN_URL = f"http://{CLOSED_PORT}/no-stackguardian-url-was-set-by-this-test"
UNSET_BITBUCKET_URL = f"http://{CLOSED_PORT}/no-bitbucket-url-was-set-by-this-test/2.0"
LOOPBACK_NAMES = "127.0.0.1,localhost,::1"
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
ALL_PROXY_NAMES = (*PROXY_NAMES, "NO_PROXY", *(name.lower() for name in (*PROXY_NAMES, "NO_PROXY")))

GUARD_ENV: dict[str, str] = {
    "STACKGUARDIAN_API_URI": UNSET_STACKGUARDIAN_URL,  # the last of settings.ENV_API_URL: a test's value wins
    "BITBUCKET_API_URL": UNSET_BITBUCKET_URL,
    **{name: f"http://{CLOSED_PORT}" for name in PROXY_NAMES},
    "NO_PROXY": LOOPBACK_NAMES,
}
# SG_BASE_URL (a shell's real one would win over the guard) and the lower-case proxy spellings.
REMOVED_ENV = ("SG_BASE_URL", *(name for name in ALL_PROXY_NAMES if name not in GUARD_ENV))
# The session's own proxy settings, for the registry clients only (captured before the guard is set).
_REGISTRY_PROXIES = {name: os.environ[name] for name in ALL_PROXY_NAMES if name in os.environ}


def guarded(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` with the guard's values for every name it does not set itself (for harnesses that build an
    environment from scratch or drop the settings from one); returns ``env``."""
    for name, value in GUARD_ENV.items():
        env.setdefault(name, value)
    for name in ALL_PROXY_NAMES:
        if name not in GUARD_ENV:
            env.pop(name, None)  # a lower-case proxy would win over the guard's
    return env


def registry_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a package-registry client (npm, go, pip): the session's own proxies, no guard ones."""
    clean = {k: v for k, v in (os.environ if env is None else env).items() if k not in ALL_PROXY_NAMES}
    clean.update(_REGISTRY_PROXIES)
    return clean


@contextmanager
def guard_environment() -> Iterator[None]:
    """The guard's settings and proxies in ``os.environ`` for as long as it lasts (the test session)."""
    saved = {name: os.environ.get(name) for name in (*GUARD_ENV, *REMOVED_ENV)}
    os.environ.update(GUARD_ENV)
    for name in REMOVED_ENV:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------- sockets in this process
_REFUSED: list[str] = []
_REFUSED_LOCK = threading.Lock()
_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a host name: resolved inside connect, so it is somewhere else


def _refuse(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # Unix sockets and the like stay on this machine
    host = str(address[0])
    if _is_loopback(host):
        return
    where = f"{host}:{address[1]}" if len(address) > 1 else host
    with _REFUSED_LOCK:
        _REFUSED.append(where)
    raise ConnectionRefusedError(errno.ECONNREFUSED, f"the test suite's traffic guard refused a connection to "
                                                     f"{where}: tests talk to 127.0.0.1 only")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _refuse(self, address)
    _REAL_CONNECT(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _refuse(self, address)
    return _REAL_CONNECT_EX(self, address)


@contextmanager
def install_socket_guard() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _REAL_CONNECT  # type: ignore[method-assign]
        socket.socket.connect_ex = _REAL_CONNECT_EX  # type: ignore[method-assign]


def refused_since(mark: int) -> list[str]:
    """The connections the guard refused after ``mark`` (a :func:`refused_count`)."""
    with _REFUSED_LOCK:
        return list(_REFUSED[mark:])


def refused_count() -> int:
    with _REFUSED_LOCK:
        return len(_REFUSED)


@contextmanager
def expect_refused() -> Iterator[list[str]]:
    """For the guard's own tests: the connections refused inside, taken off the record the suite checks."""
    mark = refused_count()
    seen: list[str] = []
    try:
        yield seen
    finally:
        with _REFUSED_LOCK:
            seen.extend(_REFUSED[mark:])
            del _REFUSED[mark:]
