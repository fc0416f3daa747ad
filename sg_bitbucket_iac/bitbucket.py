"""Bitbucket Cloud API client for preflight: read-only GETs as one credential, within a request budget.

Secrets appear only in the Authorization header, which is never logged; redirects are not followed.
Every request goes to an :class:`ApiPath` (literal words and identifiers, each checked by its
rule) joined under the API's base path by :meth:`BitbucketClient.url`, or to a ``next`` link that
stays on the API's origin and under its base path.
Every answer is read within the limits of :mod:`sg_bitbucket_iac.answers` (one deadline per answer and
per call, size, depth, capped Retry-After) and checked for its shape: a 200 must be a JSON object that is
not Bitbucket's error object, and a page (a request with ``pagelen``) must hold ``values`` as a list and
``next`` as a link, if any. An answer that is none of this is recorded like an outage (no status, a
reason in words), so preflight calls it INCONCLUSIVE, never PASS or FAIL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import takewhile
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from urllib3.util import parse_url

from .answers import (
    CappedRetry,
    LimitedAdapter,
    UnreadableAnswer,
    call_deadline,
    decode_json,
    json_type,
    read_body,
)
from .errors import RequestTimeoutError, TransportError, UnexpectedAnswerError
from .http import HeaderAuth, new_session, origin, transport_failure
from .identifiers import Identifier
from .urls import join_path, parse_base_url

logger = logging.getLogger(__name__)

MAX_REQUESTS = 6  # per credential (Preflight algorithm, "General rules")
MAX_RETRIES = 3  # 1 s, 2 s, 4 s
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_SECONDS = 10.0
ACCEPT_JSON = {"Accept": "application/json"}


class BitbucketRetry(CappedRetry):
    """urllib3's Retry with the 1 s, 2 s, 4 s schedule for ``backoff_factor`` 1 (docs/evidence.md#preflight-algorithm).

    urllib3 2 sleeps 0 before the first retry; Bitbucket's 429 carries no Retry-After, so the first
    retry must wait too. A Retry-After, if one ever comes, is honoured up to the cap of
    :class:`~sg_bitbucket_iac.answers.CappedRetry`, within the call's deadline.
    """

    def get_backoff_time(self) -> float:
        consecutive = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if consecutive == 0:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (consecutive - 1)))


# The words of the API paths preflight reads; anything else in a path is an identifier, checked by its rule.
_WORDS = frozenset({"user", "workspaces", "repositories", "projects", "pullrequests"})


@dataclass(frozen=True)
class ApiPath:
    """A path below the API's base (``/repositories/acme/infra``): literal words and checked identifiers."""

    segments: tuple[str, ...]

    @classmethod
    def of(cls, *parts: str | tuple[Identifier, str, str]) -> ApiPath:
        """Words as they are; ``(Identifier.WORKSPACE, value, field)`` checked by its kind's rule at ``field``."""
        segments: list[str] = []
        for part in parts:
            if isinstance(part, tuple):
                kind, value, field = part
                segments.append(kind.check(value, field))
            elif part in _WORDS:
                segments.append(part)
            else:
                raise ValueError(f"{part!r} is not a word of the Bitbucket API paths preflight reads")
        return cls(tuple(segments))

    @classmethod
    def parse(cls, text: str) -> ApiPath:
        """A path of literal words only (``/user/workspaces``); identifiers go through :meth:`of`."""
        return cls.of(*text.strip("/").split("/"))

    def __str__(self) -> str:
        return "/" + "/".join(self.segments)


def user_path() -> ApiPath:
    return ApiPath.of("user")


def user_workspaces_path() -> ApiPath:
    return ApiPath.of("user", "workspaces")


def _workspace(workspace: str) -> tuple[Identifier, str, str]:
    return Identifier.WORKSPACE, workspace, "workspace"


def repositories_path(workspace: str) -> ApiPath:
    return ApiPath.of("repositories", _workspace(workspace))


def repository_path(workspace: str, repository: str) -> ApiPath:
    return ApiPath.of("repositories", _workspace(workspace), (Identifier.REPOSITORY, repository, "repository"))


def pullrequests_path(workspace: str, repository: str) -> ApiPath:
    return ApiPath.of("repositories", _workspace(workspace), (Identifier.REPOSITORY, repository, "repository"),
                      "pullrequests")


def projects_path(workspace: str) -> ApiPath:
    return ApiPath.of("workspaces", _workspace(workspace), "projects")


def project_path(workspace: str, key: str) -> ApiPath:
    return ApiPath.of("workspaces", _workspace(workspace), "projects", (Identifier.PROJECT_KEY, key, "project"))


@dataclass(frozen=True)
class ProbeResponse:
    """What preflight keeps of one answer; ``status`` None means no HTTP answer at all."""

    endpoint: str
    status: int | None
    body: Any = None
    credential_type: str | None = None
    granted: tuple[str, ...] | None = None  # x-oauth-scopes, else a 403 body's detail.granted
    transport_error: str | None = None  # in words: "cannot reach api.bitbucket.org: connection refused"
    # Which failure, by the exception's type; UnexpectedAnswerError: an answer the API does not document.
    transport_failure: type[TransportError] | type[UnexpectedAnswerError] | None = None

    @property
    def error_detail(self) -> Mapping[str, Any]:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        detail = error.get("detail") if isinstance(error, dict) else None
        return detail if isinstance(detail, dict) else {}

    @property
    def error_message(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if message is None and isinstance(self.body, dict):
            message = self.body.get("message")
        return str(message) if message else ""

    def values(self) -> list[dict[str, Any]]:
        values = self.body.get("values") if isinstance(self.body, dict) else None
        return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []

    def next_url(self) -> str | None:
        link = self.body.get("next") if isinstance(self.body, dict) else None
        return link if isinstance(link, str) and link else None


def _parse_scopes(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    return tuple(s.strip() for s in header.split(",") if s.strip())


class BitbucketClient:
    """Read-only GETs against the Bitbucket API as one credential, within a request budget.

    Retries 429/5xx with backoff through urllib3's Retry, never spending more than the budget (the
    retries of the last allowed request shrink to fit). Redirects are not followed, so the
    Authorization header never travels to another host, and ``next`` links are followed only on the
    API's own origin. A session passed in gets a retrying adapter mounted for the API URL; do not
    share it between concurrent preflights.
    """

    def __init__(
        self,
        api_url: str,
        authorization: str,
        *,
        budget: int = MAX_REQUESTS,
        retry_backoff: float = 1.0,
        timeout: float = TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self._base = parse_base_url(api_url, "bitbucket_api_url")
        self.api_url = str(self._base)
        # How failures name the API: host and port (a base URL never carries userinfo: the parse refuses it).
        self._host = self._base.host + (f":{self._base.port}" if self._base.port is not None else "")
        self._auth = HeaderAuth(authorization)
        self.budget = budget
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self.requests_made = 0
        self._owns_session = session is None
        # The shared transport policy (http.py): no redirect to another origin, loopback never proxied.
        self.session = session or new_session()
        self._adapter = LimitedAdapter()
        self.session.mount(self.api_url + "/", self._adapter)

    @property
    def remaining(self) -> int:
        return self.budget - self.requests_made

    def endpoint(self, url: str) -> str:
        """The path and query of a URL: what checks and logs show (no host, never a credential)."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def url(self, path: ApiPath) -> str:
        """The one place a Bitbucket URL is made: the path's segments percent-encoded under the base path,
        proved to stay there (:func:`~sg_bitbucket_iac.urls.join_path`)."""
        return join_path(self._base, (), path.segments, trailing_slash=False)

    def may_follow(self, url: str) -> bool:
        """Whether a ``next`` link stays where credentials may go: the API's origin as urllib3 connects,
        under the base path, with no dot segment, backslash or userinfo to reinterpret it."""
        if "\\" in url or any(ch.isspace() for ch in url) or origin(url) != self._base.origin:
            return False
        sent = parse_url(url)
        path = urlsplit(url).path
        return sent.auth is None and sent.path == path and path.startswith(self._base.path + "/")

    def get(self, path_or_url: ApiPath | str, params: Mapping[str, str] | None = None) -> ProbeResponse:
        """GET an :class:`ApiPath` (a string of path words such as ``/user`` is read as one), or a ``next``
        link that :meth:`may_follow`."""
        if self.remaining < 1:
            raise RuntimeError("preflight request budget exhausted; check `remaining` first")
        if isinstance(path_or_url, str) and "://" in path_or_url:
            if not self.may_follow(path_or_url):
                raise ValueError("refusing to send credentials outside the Bitbucket API URL")
            url = path_or_url
        else:
            url = self.url(path_or_url if isinstance(path_or_url, ApiPath) else ApiPath.parse(path_or_url))
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        endpoint = self.endpoint(url)
        retries = max(0, min(MAX_RETRIES, self.remaining - 1))
        self._adapter.max_retries = BitbucketRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.retry_backoff,
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=True,
        )
        # One call's deadline: every attempt's answer and every wait between them.
        with call_deadline(self.timeout * (retries + 1)):
            try:
                response = self.session.get(
                    url, headers=ACCEPT_JSON, auth=self._auth, timeout=self.timeout, allow_redirects=False, stream=True
                )
                try:
                    content: bytes | None = read_body(response)
                    unreadable = None
                except UnreadableAnswer as exc:
                    content, unreadable = None, exc.reason
            except requests.RequestException as exc:
                self.requests_made += 1 + retries
                failure = transport_failure(exc)
                if issubclass(failure.error, RequestTimeoutError):
                    reason = f"no complete answer from {self._host} within {self.timeout:g} s"
                else:
                    reason = f"cannot reach {self._host}: {failure.reason}"
                logger.debug("Bitbucket GET %s failed: %s", endpoint, reason)
                return ProbeResponse(endpoint, None, transport_error=reason, transport_failure=failure.error)
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self.requests_made += 1 + len(history)
        logger.debug("Bitbucket GET %s -> %s (%d retries)", endpoint, response.status_code, len(history))
        body: Any = None  # 429s are text/plain; some errors are HTML
        if content is not None and content.strip():
            try:
                body = decode_json(content)
            except UnreadableAnswer as exc:
                unreadable = exc.reason
        if response.status_code == 200:
            unreadable = unreadable or _shape_problem(body, paged="pagelen" in urlsplit(url).query)
            if unreadable is not None:
                reason = f"{self._host} answered something unexpected to {endpoint}: {unreadable}"
                logger.debug("Bitbucket GET %s: %s", endpoint, reason)
                return ProbeResponse(endpoint, None, transport_error=reason, transport_failure=UnexpectedAnswerError)
        granted = _parse_scopes(response.headers.get("x-oauth-scopes"))
        detail_granted = body.get("error", {}).get("detail", {}) if isinstance(body, dict) else None
        if granted is None and isinstance(detail_granted, dict) and isinstance(detail_granted.get("granted"), list):
            granted = tuple(str(s) for s in detail_granted["granted"])
        return ProbeResponse(
            endpoint,
            response.status_code,
            body,
            response.headers.get("x-credential-type"),
            granted,
        )

    def close(self) -> None:
        if self._owns_session:
            self.session.close()



def _shape_problem(body: Any, *, paged: bool) -> str | None:
    """What is wrong with a 200's body (docs/evidence.md#bitbucket-error-and-status-shapes), or None."""
    if not isinstance(body, dict):
        return f"its body is a JSON {json_type(body)}, not an object" if body is not None else "its body is empty"
    if body.get("type") == "error" or "error" in body:
        return "a 200 whose body is an error object"
    if paged and not isinstance(body.get("values"), list):
        return "a page without a `values` list"
    if paged and body.get("next") is not None and not isinstance(body.get("next"), str):
        return "a page whose `next` is not a link"
    return None


__all__ = [
    "MAX_REQUESTS",
    "ApiPath",
    "BitbucketClient",
    "BitbucketRetry",
    "ProbeResponse",
    "project_path",
    "projects_path",
    "pullrequests_path",
    "repositories_path",
    "repository_path",
    "user_path",
    "user_workspaces_path",
]
