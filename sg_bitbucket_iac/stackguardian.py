"""StackGuardian connector ("integration") API client.

Wire format: docs/evidence.md#stackguardian-wire-format (sg-sdk-go's `connectors/client.go`).
Retries are urllib3's `Retry` (backoff with jitter, `Retry-After` honoured), mounted per method
class so that a non-idempotent create is never blindly re-sent. A create is idempotent end to end:
after any failed or retried POST (429, 5xx, timeout, dropped connection, "already exists" because an
earlier attempt or a concurrent apply stored it) the connector is looked up, and accepted when it is
ours and as declared (see :func:`~sg_bitbucket_iac.wire.create_differences`); only a connector that is
not gets an error.
Transport rules (redirects, proxies, failures by exception type) are :mod:`sg_bitbucket_iac.http`'s;
the limits on every answer (one deadline per answer and per call, size, depth, capped Retry-After) are
:mod:`sg_bitbucket_iac.answers`'.

**Every answer is checked for its shape** before anything is concluded from it: a 2xx must be a JSON
object that is not an error object, a read must hold its record under ``msg``, a listall page its list
under ``msg`` (of objects) and a string cursor. Anything else raises :class:`UnexpectedAnswerError`, an
outage: never an empty org, a dropped connector or a create (docs/evidence.md#answer-limits).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import requests

from . import __version__
from .answers import (
    CappedRetry,
    LimitedAdapter,
    UnreadableAnswer,
    call_deadline,
    decode_json,
    json_type,
    read_body,
)
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConnectionRefused,
    CreateConflictError,
    DuplicateError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    StackGuardianError,
    TransportError,
    UnexpectedAnswerError,
)
from .http import HeaderAuth, new_session, transport_failure
from .identifiers import Identifier
from .redact import scrub_text
from .secrets import Secret
from .settings import Settings, checked_api_key
from .tags import FINGERPRINT_TAG
from .urls import join_path, parse_base_url
from .wire import KIND, answer_shows_write, create_differences, unwrap_list_item, wire_json_default

log = logging.getLogger(__name__)

MAX_PAGE = 500
LISTALL = "listall"  # the listing route under integrations/ (no connector Id may be this word)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds; the read timeout is one deadline per answer
# No StackGuardian source states how many connectors an org may hold; this tool assumes at most
# 100,000 (five times the 20,000 its benchmarks run) and bounds a listall by it (docs/evidence.md#answer-limits).
MAX_CONNECTORS_PER_ORG = 100_000
MAX_CURSOR_CHARS = 4096  # a cursor goes back in the query string; longer URLs are refused by most servers
_ERROR_KEYS = ("error", "errors")


def max_listall_pages(limit: int) -> int:
    """How many listall pages of ``limit`` a scan may take before it stops with an error.

    An org of :data:`MAX_CONNECTORS_PER_ORG` fills ceil(max / limit) pages; twice that allows for
    pages cut short (a DynamoDB-style store also ends a page at 1 MB of items), plus the last, empty
    page a cursor may lead to: 401 pages of 500.
    """
    return 2 * math.ceil(MAX_CONNECTORS_PER_ORG / limit) + 1


def _retry(total: int, backoff: float, *, idempotent: bool) -> CappedRetry:
    if idempotent:
        return CappedRetry(
            total=total,
            connect=total,
            read=total,
            status=total,
            backoff_factor=backoff,
            backoff_jitter=backoff / 4 if backoff else 0.0,
            backoff_max=30.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "PATCH", "DELETE", "PUT", "HEAD"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
    # POST: retry only what provably never reached the handler: refused connections and 429.
    return CappedRetry(
        total=total,
        connect=total,
        read=0,
        status=total,
        other=0,
        backoff_factor=backoff,
        backoff_jitter=backoff / 4 if backoff else 0.0,
        backoff_max=30.0,
        status_forcelist=frozenset({429}),
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _session(retry: CappedRetry) -> requests.Session:
    return new_session(LimitedAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16))


class StackGuardianClient:
    """Connectors of one org. Thread-safe for concurrent calls (requests sessions per method class)."""

    def __init__(
        self,
        api_url: str,
        api_key: Secret | str,
        org: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 4,
        backoff: float = 0.5,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        """``sources``: where the API key and URL came from (``api_key``, ``api_url`` -> a flag, a provider
        argument, stack config or an environment variable), named by the hints of the errors they cause."""
        self._base = parse_base_url(api_url, "api_url")
        self.api_url = str(self._base)
        self._api_key = checked_api_key(api_key, "api_key")
        self.sources: dict[str, str] = {k: v for k, v in (sources or {}).items() if v}
        self.org = Identifier.ORG.check(org, "org")
        self._prefix = ("api", "v1", "orgs", self.org, "integrations")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._idempotent = _session(_retry(retries, backoff, idempotent=True))
        self._create = _session(_retry(retries, backoff, idempotent=False))

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> StackGuardianClient:
        if settings.request_timeout is not None:
            kwargs.setdefault("timeout", (min(DEFAULT_TIMEOUT[0], settings.request_timeout), settings.request_timeout))
        kwargs.setdefault("sources", {name: settings.source_of(name) for name in ("api_key", "api_url")})
        return cls(settings.api_url, settings.require_api_key(), settings.require_org(), **kwargs)

    def __repr__(self) -> str:
        return f"StackGuardianClient(api_url={self.api_url!r}, org={self.org!r})"

    def close(self) -> None:
        self._idempotent.close()
        self._create.close()

    # ------------------------------------------------------------------ plumbing
    def _url(self, connector_id: str | None = None, *, listing: bool = False) -> str:
        """The one place a StackGuardian URL is made: ``/api/v1/orgs/{org}/integrations/`` (create),
        ``…/listall/`` (``listing``) or ``…/{connector_id}/``, the Id checked by its rule (so a connector Id
        of ``listall`` never reaches the listing route), percent-encoded, and the result proved to stay under
        the prefix (:func:`~sg_bitbucket_iac.urls.join_path`)."""
        if listing:
            if connector_id is not None:
                raise ValueError("the listing route names no connector")
            parts: tuple[str, ...] = (LISTALL,)
        else:
            parts = () if connector_id is None else (Identifier.CONNECTOR_ID.check(connector_id, "connector_id"),)
        return join_path(self._base, self._prefix, parts, trailing_slash=True, names=("connector_id",))

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": f"sg-bitbucket-iac/{__version__}"}

    @property
    def call_seconds(self) -> float:
        """One call's deadline: every attempt's answer and every wait between attempts fit in it."""
        return self.timeout[1] * (self.retries + 1)

    def _request(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        session: requests.Session | None = None,
    ) -> dict[str, Any]:
        """One call (its retries included) within :attr:`call_seconds`; the 2xx answer as a JSON object."""
        secrets_sent = [*_secret_values(body), self._api_key.reveal()]
        headers = self._headers()
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, default=wire_json_default).encode()
            headers["Content-Type"] = "application/json"
        http = session or self._idempotent
        unreadable: str | None = None
        with call_deadline(self.call_seconds):
            try:
                response = http.request(
                    method, url, data=data, params=params, headers=headers, timeout=self.timeout,
                    auth=HeaderAuth(f"apikey {self._api_key.reveal()}"), stream=True,
                )
                try:
                    content = read_body(response)
                except UnreadableAnswer as exc:
                    content, unreadable = b"", exc.reason
            except requests.exceptions.RetryError as exc:
                # Retries exhausted on a status: urllib3 raises only when raise_on_status=True; kept for safety.
                raise ServerError(scrub_text(str(exc.args[0]) if exc.args else "retries exhausted", secrets_sent),
                                  operation=operation) from None
            except requests.exceptions.RequestException as exc:
                # The class by the exception's type; never the library's own text (it may quote a header value
                # or a URL with a credential).
                failure = transport_failure(exc)
                hint = failure.error.hint_naming(self.sources)
                if issubclass(failure.error, RequestTimeoutError):
                    raise RequestTimeoutError(f"no complete answer within {self.timeout[1]:g} s",
                                              operation=operation, hint=hint) from None
                raise failure.error(f"cannot reach {self.api_url} ({failure.reason})", operation=operation,
                                    hint=hint) from None
        log.debug("%s %s -> %s", method, _path_only(url), response.status_code)
        status = response.status_code
        if 200 <= status < 300:
            if unreadable is not None:
                raise _unexpected(unreadable, operation, status=status)
            return _answer_object(content, status, operation, secrets_sent)
        self._raise_for_status(status, _error_payload(content), operation, secrets_sent)

    def _raise_for_status(self, status: int, payload: Mapping[str, Any], operation: str,
                          secrets_sent: list[str]) -> NoReturn:
        text = _server_message(payload, secrets_sent)
        kwargs: dict[str, Any] = {"status": status, "server_message": text, "operation": operation}
        if status == 400 or status == 409:
            if status == 409 or (text and "already exist" in text.lower()):
                raise DuplicateError("connector already exists", **kwargs)
            raise BadRequestError("request rejected (400)", **kwargs)
        if status == 401:
            raise AuthenticationError("API key rejected (401)", hint=AuthenticationError.hint_naming(self.sources),
                                      **kwargs)
        if status == 403:
            raise PermissionDeniedError(f"forbidden for org {self.org!r} (403)", **kwargs)
        if status == 404:
            raise NotFoundError("not found (404)", **kwargs)
        if status == 429:
            raise RateLimitedError("rate limited (429)", **kwargs)
        if 300 <= status < 400:
            raise StackGuardianError(
                f"redirected ({status}); not followed, so the request and its credentials stay on {self.api_url}",
                hint=f"set {self.sources.get('api_url', 'SG_BASE_URL')} to the API's final address (redirects are "
                "followed only for reads on the same origin)", **kwargs)
        if status >= 500 or status == 408:
            raise ServerError(f"service error ({status})", **kwargs)
        raise StackGuardianError(f"unexpected HTTP {status}", **kwargs)

    # ------------------------------------------------------------------ operations
    def get(self, connector_id: str) -> dict[str, Any]:
        operation = f"read connector {connector_id}"
        payload = self._request("GET", self._url(connector_id), operation)
        record = payload.get("msg")
        if not isinstance(record, dict):
            raise _unexpected("a read answered without its record (`msg` is not an object)", operation,
                              server_message=_server_message(payload, [self._api_key.reveal()], text_only=True))
        return record

    def find(self, connector_id: str) -> dict[str, Any] | None:
        try:
            return self.get(connector_id)
        except NotFoundError:
            return None

    def create(self, payload: Mapping[str, Any], *, conflict_hint: str | None = None) -> dict[str, Any]:
        """POST a new connector, idempotently (see module doc): one connector, whatever the faults.

        ``conflict_hint``: what to do when another connector holds the Id, in the caller's front's words.
        """
        connector_id = str(payload.get("Id") or "")
        if connector_id:  # sent in the body, but looked up by URL after a failed attempt: checked before either
            Identifier.CONNECTOR_ID.check(connector_id, "Id")
        operation = f"create connector {connector_id or payload.get('ResourceName')}"
        if not connector_id:  # no Id to look up: a retry could duplicate, so one attempt only
            return self._created(self._request("POST", self._url(), operation, body=payload, session=self._create),
                                 connector_id)
        last_error: StackGuardianError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(30.0, self.backoff * (2 ** (attempt - 1))))
            try:
                response = self._request("POST", self._url(), operation, body=payload, session=self._create)
            except DuplicateError as exc:
                # Stored by an earlier attempt of ours (its answer lost), or by a concurrent apply.
                last_error = exc
            except ConnectionRefused:
                raise  # never reached the server, and urllib3 already retried the connect
            except (ServerError, TransportError, RateLimitedError) as exc:
                last_error = exc
            else:
                return self._created(response, connector_id)
            try:
                existing = self._fresh_lookup(connector_id)
            except (ServerError, TransportError, RateLimitedError) as exc:
                log.info("create of %s: lookup failed (%s); trying again", connector_id, exc.category)
                continue
            if existing is None:
                continue  # not stored: sending it again cannot duplicate
            differences = create_differences(existing, payload)
            if differences:
                raise CreateConflictError(
                    f"connector {connector_id} already exists and is not the one declared "
                    f"({', '.join(differences)} differ)", status=getattr(last_error, "status", None),
                    operation=operation, hint=conflict_hint)
            log.info("create of %s: %s, but the connector is stored as declared; using it",
                     connector_id, last_error.category if last_error else "retried")
            return self._reassert_secret(existing, payload)
        assert last_error is not None
        raise last_error

    def _fresh_lookup(self, connector_id: str) -> dict[str, Any] | None:
        """A GET that no cache answers (a batched reader's scan predates the create): what is stored now."""
        try:
            return self.get(connector_id)
        except NotFoundError:
            return None

    def _created(self, response: Mapping[str, Any], connector_id: str) -> dict[str, Any]:
        record = _written_record(response, f"create connector {connector_id}")
        if record is not None:
            return record
        return self.get(connector_id) if connector_id else {}

    def _reassert_secret(self, existing: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
        """A connector found after a failed create holds our visible fields; its secret is masked.

        With a credential fingerprint among the ContextTags (the CLI's), the match proves the secret
        too. Without one (Pulumi, Terraform keep it in their state) the stored secret may be a
        concurrent writer's, so the declared credentials are sent once more: an idempotent PATCH.
        """
        context_tags = payload.get("ContextTags") or {}
        if FINGERPRINT_TAG in context_tags or "Settings" not in payload:
            return existing
        return self.update(str(payload["Id"]), {"Settings": payload["Settings"]})

    def update(
        self, connector_id: str, patch: Mapping[str, Any], *, not_modified_since: datetime | None = None
    ) -> dict[str, Any]:
        """PATCH; returns the record after the write.

        The answer's `data` may be stale (the official provider overwrites the returned name with
        the planned one), so it is used only when it shows this write: every field sent, and a
        `ModifiedAt` later than `not_modified_since` (the record's before the write) when given.
        Otherwise the record is read back, so no stale value reaches state, snapshots or drift.
        """
        payload = self._request(
            "PATCH", self._url(connector_id), f"update connector {connector_id}", body=patch
        )
        record = _written_record(payload, f"update connector {connector_id}")
        if record is not None and answer_shows_write(record, patch, not_modified_since):
            return record
        return self.get(connector_id)

    def delete(self, connector_id: str, *, missing_ok: bool = False) -> bool:
        """Delete; returns False when it was already gone and `missing_ok`."""
        try:
            self._request("DELETE", self._url(connector_id), f"delete connector {connector_id}")
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True

    def list_all(
        self,
        *,
        kind: str | Sequence[str] | None = KIND,
        resource_names: Sequence[str] | None = None,
        limit: int = MAX_PAGE,
    ) -> Iterator[dict[str, Any]]:
        """Every connector, page by page (`lastevaluatedkey` cursor, at most 500 per page).

        Each page is checked whole before any of it is yielded; a scan that has not ended after
        :func:`max_listall_pages` pages, or meets a cursor twice, stops with an error.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be within 1..{MAX_PAGE}")
        params: dict[str, Any] = {"limit": limit}
        if kind:
            params["kind"] = kind if isinstance(kind, str) else ",".join(kind)
        if resource_names:
            params["ResourceNames"] = ",".join(resource_names)
        operation = "list connectors"
        cursor: str | None = None
        seen_cursors: set[str] = set()
        most_pages = max_listall_pages(limit)
        for _page in range(most_pages):
            page_params = dict(params)
            if cursor:
                page_params["lastevaluatedkey"] = cursor
            records, cursor = self._listall_page(
                self._request("GET", self._url(listing=True), operation, params=page_params))
            yield from records
            if cursor is None:
                return
            if cursor in seen_cursors:
                raise _unexpected("listall returned the same cursor twice", operation)
            seen_cursors.add(cursor)
        raise _unexpected(
            f"listall did not end after {most_pages} pages of {limit} (an org holds at most "
            f"{MAX_CONNECTORS_PER_ORG:,} connectors)", operation)

    def _listall_page(self, payload: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        """A page's records and its cursor (None at the end), or UnexpectedAnswerError."""
        items = payload.get("msg")
        if not isinstance(items, list):
            raise _unexpected("a listall page holds no list under `msg`", "list connectors",
                              server_message=_server_message(payload, [self._api_key.reveal()], text_only=True))
        if not all(isinstance(item, dict) for item in items):
            raise _unexpected("a listall page holds an item that is not an object", "list connectors")
        cursor = payload.get("lastevaluatedkey")
        if cursor is None or cursor == "":
            return [unwrap_list_item(item) for item in items], None
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
            raise _unexpected(f"a listall cursor is not a string of at most {MAX_CURSOR_CHARS} characters",
                              "list connectors")
        return [unwrap_list_item(item) for item in items], cursor


def _unexpected(reason: str, operation: str, *, status: int | None = None,
                server_message: str | None = None) -> UnexpectedAnswerError:
    said = f"answered something unexpected ({status})" if status else "answered something unexpected"
    return UnexpectedAnswerError(f"{said}: {reason}", status=status, server_message=server_message,
                                 operation=operation)


def _answer_object(content: bytes, status: int, operation: str, secrets_sent: list[str]) -> dict[str, Any]:
    """A 2xx body as the JSON object every documented answer is; empty only for 204 No Content."""
    if not content.strip():
        if status == 204:
            return {}
        raise _unexpected("an empty body", operation, status=status)
    try:
        payload = decode_json(content)
    except UnreadableAnswer as exc:
        raise _unexpected(exc.reason, operation, status=status) from None
    if not isinstance(payload, dict):
        raise _unexpected(f"a JSON {json_type(payload)}, not an object", operation, status=status)
    if any(payload.get(key) for key in _ERROR_KEYS) or _error_status(payload):
        raise _unexpected("an error object", operation, status=status,
                          server_message=_server_message(payload, secrets_sent, text_only=True))
    return payload


def _error_status(payload: Mapping[str, Any]) -> bool:
    """`{"status": 500, ...}` or `{"statusCode": 403, ...}`: an error said in the body of a 2xx."""
    for key in ("status", "statusCode"):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return True
    return False


def _error_payload(content: bytes) -> Mapping[str, Any]:
    """An error answer's body, for its message only: anything unreadable is no message."""
    try:
        payload = decode_json(content) if content.strip() else {}
    except UnreadableAnswer:
        return {"msg": content[:300].decode("utf-8", "replace")}
    return payload if isinstance(payload, dict) else {"msg": payload}


def _server_message(payload: Mapping[str, Any], secrets_sent: list[str], *, text_only: bool = False) -> str | None:
    """The server's own words (`msg`, `message` or `error`), scrubbed and shortened; None without any.

    ``text_only``: only a string counts (a 2xx whose `msg` is a record is not the server speaking)."""
    for key in ("msg", "message", "error"):
        said = payload.get(key)
        if isinstance(said, dict) and isinstance(said.get("message"), str):
            said = said["message"]  # {"error": {"message": ...}}
        if said and (isinstance(said, str) or not text_only):
            return scrub_text(str(said), secrets_sent)[:500]
    return None


def _written_record(payload: Mapping[str, Any], operation: str) -> dict[str, Any] | None:
    """A write's `data` record; None without one (the caller reads it back); a `data` of another type is
    an unexpected answer."""
    record = payload.get("data")
    if record is None:
        return None
    if not isinstance(record, dict):
        raise _unexpected("a write answered `data` that is not a record", operation)
    return record


def _secret_values(body: Any) -> list[str]:
    found: list[str] = []
    if isinstance(body, Secret):
        found.append(body.reveal())
    elif isinstance(body, Mapping):
        for value in body.values():
            found.extend(_secret_values(value))
    elif isinstance(body, list | tuple):
        for value in body:
            found.extend(_secret_values(value))
    return found


def _path_only(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
