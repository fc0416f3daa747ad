"""StackGuardian connector ("integration") API client.

Wire format: docs/evidence.md#stackguardian-wire-format (sg-sdk-go's `connectors/client.go`).
Retries are urllib3's `Retry` (backoff with jitter, `Retry-After` honoured), mounted per method
class so that a non-idempotent create is never blindly re-sent. A create is idempotent end to end:
after any failed or retried POST (429, 5xx, timeout, dropped connection, "already exists" because an
earlier attempt or a concurrent apply stored it) the connector is looked up, and accepted when it is
ours and as declared (see :func:`~sg_bitbucket_iac.wire.create_differences`); only a connector that is
not gets an error.
Transport rules (redirects, proxies, failures by exception type) are :mod:`sg_bitbucket_iac.http`'s.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import __version__
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
)
from .http import HeaderAuth, new_session, transport_failure
from .redact import scrub_text
from .secrets import Secret
from .settings import Settings, checked_api_key, checked_base_url
from .tags import FINGERPRINT_TAG
from .wire import KIND, answer_shows_write, create_differences, unwrap_list_item, wire_json_default

log = logging.getLogger(__name__)

MAX_PAGE = 500
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds


def _retry(total: int, backoff: float, *, idempotent: bool) -> Retry:
    if idempotent:
        return Retry(
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
    return Retry(
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


def _session(retry: Retry) -> requests.Session:
    session = new_session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
        self.api_url = checked_base_url(api_url, "api_url")
        self._api_key = checked_api_key(api_key, "api_key")
        self.sources: dict[str, str] = {k: v for k, v in (sources or {}).items() if v}
        self.org = org
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
    def _url(self, *parts: str) -> str:
        path = "/".join(quote(p, safe="") for p in parts)
        return f"{self.api_url}/api/v1/orgs/{quote(self.org, safe='')}/integrations/{path}{'/' if path else ''}"

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": f"sg-bitbucket-iac/{__version__}"}

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
        secrets_sent = [*_secret_values(body), self._api_key.reveal()]
        headers = self._headers()
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, default=wire_json_default).encode()
            headers["Content-Type"] = "application/json"
        http = session or self._idempotent
        try:
            response = http.request(
                method, url, data=data, params=params, headers=headers, timeout=self.timeout,
                auth=HeaderAuth(f"apikey {self._api_key.reveal()}"),
            )
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
                raise RequestTimeoutError(f"no answer within {self.timeout[1]:g} s", operation=operation,
                                          hint=hint) from None
            raise failure.error(f"cannot reach {self.api_url} ({failure.reason})", operation=operation,
                                hint=hint) from None
        log.debug("%s %s -> %s", method, _path_only(url), response.status_code)
        return self._decode(response, operation, secrets_sent)

    def _decode(self, response: requests.Response, operation: str, secrets_sent: list[str]) -> dict[str, Any]:
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {"msg": response.text[:300]}
        if not isinstance(payload, dict):
            payload = {"msg": payload}
        status = response.status_code
        if 200 <= status < 300:
            return payload
        server_message = payload.get("msg") or payload.get("message") or payload.get("error")
        text = scrub_text(str(server_message), secrets_sent)[:500] if server_message else None
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
        payload = self._request("GET", self._url(connector_id), f"read connector {connector_id}")
        record = payload.get("msg")
        if not isinstance(record, dict):
            raise StackGuardianError("read returned no record", operation=f"read connector {connector_id}")
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
        record = response.get("data")
        if isinstance(record, dict):
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
        record = payload.get("data")
        if isinstance(record, dict) and answer_shows_write(record, patch, not_modified_since):
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
        """Every connector, page by page (`lastevaluatedkey` cursor, at most 500 per page)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be within 1..{MAX_PAGE}")
        params: dict[str, Any] = {"limit": limit}
        if kind:
            params["kind"] = kind if isinstance(kind, str) else ",".join(kind)
        if resource_names:
            params["ResourceNames"] = ",".join(resource_names)
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            page_params = dict(params)
            if cursor:
                page_params["lastevaluatedkey"] = cursor
            payload = self._request("GET", self._url("listall"), "list connectors", params=page_params)
            for item in payload.get("msg") or []:
                yield unwrap_list_item(item)
            cursor = payload.get("lastevaluatedkey") or None
            if not cursor:
                return
            if cursor in seen_cursors:
                raise StackGuardianError("listall returned the same cursor twice", operation="list connectors")
            seen_cursors.add(cursor)


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
