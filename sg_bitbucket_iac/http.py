"""Transport policy shared by the StackGuardian and Bitbucket clients: one place, one set of rules.

* **Redirects**: never to another origin (scheme, host and port), and on the same origin only for
  safe methods (GET, HEAD). `requests` drops the Authorization header on a cross-host redirect but
  re-sends the body of a 307/308, and a create or update body carries Bitbucket credentials; so a
  redirect that is not followed is handed back to the client, which reports it.
* **Proxies**: a loopback URL never goes through a proxy (an `HTTP_PROXY` would otherwise see the
  emulator's API key in clear); any other URL honours the proxy settings of the environment
  (`HTTPS_PROXY`, `NO_PROXY`, ...) as `requests` users expect.
* **Error texts**: a transport library's message can quote a header value (`Invalid header value
  b'apikey KEY\\n'`) or a URL; :func:`transport_error_text` gives a short reason scrubbed of every
  secret the request carried.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from .secrets import scrub_text
from .settings import is_loopback

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


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def redirect_allowed(method: str, from_url: str, to_url: str) -> bool:
    """The one redirect rule: same origin and a safe method."""
    return method.upper() in SAFE_METHODS and origin(from_url) == origin(to_url)


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
        if url is None or proxies:
            return self._merge_environment(url, proxies, stream, verify, cert)
        text = url if isinstance(url, str) else url.decode()
        key = (origin(text), stream, verify, cert, self.trust_env, self.verify, self.cert,
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
        if url is not None and is_loopback(urlsplit(url if isinstance(url, str) else url.decode()).hostname):
            settings["proxies"] = {}
        return settings

    def rebuild_proxies(self, prepared_request: requests.PreparedRequest, proxies: Any) -> dict[str, str]:
        rebuilt: dict[str, str] = super().rebuild_proxies(prepared_request, proxies)
        url = prepared_request.url or ""
        if is_loopback(urlsplit(url).hostname):
            prepared_request.headers.pop("Proxy-Authorization", None)
            return {}
        return rebuilt


def new_session() -> PolicySession:
    return PolicySession()


def transport_error_text(exc: BaseException, secrets: Iterable[str]) -> str:
    """A short, scrubbed reason for a failure below HTTP (no answer, bad header, TLS, ...)."""
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return "a header value is invalid (a key or credential with a line break or control character?)"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (certificate not trusted?)"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "host name does not resolve"
    if "reset" in text or "aborted" in text or "remote end closed" in text or "remotedisconnected" in text:
        return "connection dropped"
    return scrub_text(f"{type(exc).__name__}", secrets)

