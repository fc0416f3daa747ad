"""Transport policy shared by the StackGuardian and Bitbucket clients: one place, one set of rules.

* **Redirects**: never to another origin (scheme, host and port), and on the same origin only for
  safe methods (GET, HEAD). `requests` drops the Authorization header on a cross-host redirect but
  re-sends the body of a 307/308, and a create or update body carries Bitbucket credentials; so a
  redirect that is not followed is handed back to the client, which reports it.
* **Proxies**: a loopback URL never goes through a proxy (an `HTTP_PROXY` would otherwise see the
  emulator's API key in clear); any other URL honours the proxy settings of the environment
  (`HTTPS_PROXY`, `NO_PROXY`, ...) as `requests` users expect. Loopback, origins and redirect
  targets are decided by the parse urllib3 connects by (:mod:`sg_bitbucket_iac.urls`); a URL that
  ``urllib.parse`` reads differently is never followed.
* **Failures below HTTP** map to an error class by the *type* of what the library raised, found by
  walking the exception chain (requests -> urllib3's ``MaxRetryError``/``NewConnectionError``/
  ``ProtocolError`` -> ``ConnectionRefusedError``, ``socket.gaierror``, ``ConnectionResetError``,
  ``ssl.SSLError`` ...), never by searching its message: that text changes between library versions
  and can quote a header value (`Invalid header value b'apikey KEY\\n'`) or a URL with a credential,
  so it is never shown either. :func:`transport_failure` gives the class and a reason in words.
* **Limits on answers** (time, size, depth, waits) live in :mod:`sg_bitbucket_iac.answers`; every session
  made here mounts its adapter, so an answer's read timeout is one deadline for the whole answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions

from .answers import LimitedAdapter
from .errors import (
    ConnectionDropped,
    ConnectionRefused,
    InvalidHeaderValue,
    NameNotResolved,
    ProxyFailed,
    RequestTimeoutError,
    TLSHandshakeFailed,
    TransportError,
)
from .urls import connection_origin, is_loopback

SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_REDIRECTS = 5


class HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header as ``auth=``, so that a ~/.netrc entry can never replace it.

    requests applies netrc credentials when a request has no ``auth``, overwriting an
    Authorization header set by hand; passing this object as ``auth`` prevents that. Its repr
    never shows the value.
    """

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "<Authorization header (redacted)>"


def origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) as urllib3 connects, the scheme's default port explicit; None for an ambiguous URL."""
    return connection_origin(url)


def redirect_allowed(method: str, from_url: str, to_url: str) -> bool:
    """The one redirect rule: same origin and a safe method."""
    target = origin(to_url)
    return method.upper() in SAFE_METHODS and target is not None and origin(from_url) == target


def _loopback_url(url: str | bytes) -> bool:
    found = origin(url if isinstance(url, str) else url.decode())
    return found is not None and is_loopback(found[1])


class PolicySession(requests.Session):
    """A `requests.Session` that applies this module's redirect and proxy rules to every request."""

    def __init__(self) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        self._environment_settings: dict[tuple[Any, ...], dict[str, Any]] = {}

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        from urllib.parse import urljoin

        absolute = urljoin(resp.url, target)
        method = resp.request.method or "GET"
        return target if redirect_allowed(method, resp.url, absolute) else None

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """requests' merge, read once per origin: it re-reads every environment variable on each call.

        That re-reading was a fifth of a write's CPU. The answer depends only on the origin (proxy
        and ``NO_PROXY`` rules match scheme, host and port), the arguments and the session's own
        settings, all in the key; a process does not change its proxy environment mid-run.
        """
        found = None if url is None or proxies else origin(url if isinstance(url, str) else url.decode())
        if found is None:  # no URL, explicit proxies, or an ambiguous URL: nothing to key on
            return self._merge_environment(url, proxies, stream, verify, cert)
        key = (found, stream, verify, cert, self.trust_env, self.verify, self.cert,
               tuple(sorted(self.proxies.items())))
        try:
            cached = self._environment_settings.get(key)
        except TypeError:  # an unhashable verify/cert: nothing to key on, so no cache
            return self._merge_environment(url, proxies, stream, verify, cert)
        if cached is None:
            cached = self._merge_environment(url, proxies, stream, verify, cert)
            self._environment_settings[key] = cached
        return {**cached, "proxies": dict(cached["proxies"])}

    def _merge_environment(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings: dict[str, Any] = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        if url is not None and _loopback_url(url):
            settings["proxies"] = {}
        return settings

    def rebuild_proxies(self, prepared_request: requests.PreparedRequest, proxies: Any) -> dict[str, str]:
        rebuilt: dict[str, str] = super().rebuild_proxies(prepared_request, proxies)
        url = prepared_request.url or ""
        if _loopback_url(url):
            prepared_request.headers.pop("Proxy-Authorization", None)
            return {}
        return rebuilt


def new_session(adapter: LimitedAdapter | None = None) -> PolicySession:
    """A session with this module's policy and the answer limits' adapter (``adapter``: one with retries)."""
    session = PolicySession()
    mounted = adapter or LimitedAdapter()
    session.mount("http://", mounted)
    session.mount("https://", mounted)
    return session


@dataclass(frozen=True)
class TransportFailure:
    """What failed below HTTP: the error class a client raises, and the reason in words."""

    error: type[TransportError]
    reason: str


def _types(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, kinds)


def _timed_out(exc: BaseException) -> bool:
    # urllib3 2 keeps NewConnectionError (any failed connect: refused, unreachable) under its
    # ConnectTimeoutError for backwards compatibility; only the other timeouts mean "no answer in time".
    timeouts = (TimeoutError, urllib3.exceptions.TimeoutError, requests.exceptions.Timeout)
    return isinstance(exc, timeouts) and not isinstance(exc, urllib3.exceptions.NewConnectionError)


# The first rule that matches any exception of the chain decides: a proxy or TLS failure may wrap a
# refused or reset connection (to the proxy, during the handshake), so those come first.
_RULES: tuple[tuple[type[TransportError], Callable[[BaseException], bool]], ...] = (
    (InvalidHeaderValue, _types(requests.exceptions.InvalidHeader)),
    (ProxyFailed, _types(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError)),
    (TLSHandshakeFailed, _types(ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError)),
    (NameNotResolved, _types(socket.gaierror, urllib3.exceptions.NameResolutionError)),
    (ConnectionRefused, _types(ConnectionRefusedError)),
    (RequestTimeoutError, _timed_out),
    # ConnectionResetError, ConnectionAbortedError, BrokenPipeError and http.client.RemoteDisconnected
    # are all the built-in ConnectionError (not requests'); a refused connect was matched above.
    (ConnectionDropped, _types(ConnectionError, urllib3.exceptions.ProtocolError, http.client.IncompleteRead,
                               requests.exceptions.ChunkedEncodingError)),
)


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps, outermost first.

    Links: ``__cause__`` (``raise ... from``), else ``__context__`` unless suppressed (as a traceback
    shows them), urllib3's ``MaxRetryError.reason``, and exceptions passed as arguments (requests'
    ``ConnectionError(MaxRetryError(...))``, urllib3's ``ProtocolError("Connection aborted.", err)``).
    """
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        context = None if current.__suppress_context__ else current.__context__
        linked = [current.__cause__ or context, getattr(current, "reason", None), *current.args]
        pending.extend(link for link in linked if isinstance(link, BaseException))


def transport_failure(exc: BaseException) -> TransportFailure:
    """The error class for a failure below HTTP (no answer, bad header, TLS, ...), by exception type."""
    chain = list(_exception_chain(exc))
    for error, matches in _RULES:
        if any(matches(link) for link in chain):
            return TransportFailure(error, error.reason)
    # Anything else (no route to host, ...): the operating system's words for its errno, never the
    # library's message; without one, what the library's exception type means, in words.
    for link in chain:
        if isinstance(link, OSError) and link.errno is not None and link.strerror:
            return TransportFailure(TransportError, link.strerror[:1].lower() + link.strerror[1:])
    for kinds, words in _OTHER_FAILURES:
        if any(isinstance(link, kinds) for link in chain):
            return TransportFailure(TransportError, words)
    return TransportFailure(TransportError, "the request failed before any answer")


# Failures that are not the network's, in words (never a class name a person has to look up).
_OTHER_FAILURES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema),
     "the URL does not start with http:// or https://"),
    ((requests.exceptions.InvalidURL, urllib3.exceptions.LocationParseError), "the URL is not a valid address"),
    (requests.exceptions.TooManyRedirects, "too many redirects"),
    (requests.exceptions.ContentDecodingError, "the answer could not be decoded"),
)
