"""Bitbucket Cloud client and credential preflight.

Before a connector's credentials are sent to StackGuardian, they are tried against Bitbucket, so a
wrong email, a missing scope or a token for another repository fails with a precise message
instead of a connector that silently cannot clone. The probes follow the "Preflight algorithm"
of reference/bitbucket-api.md:

* one plan per auth type behind :func:`run_preflight`, at most six requests per credential;
* every response classified (401 / 403 missing scope / 403 / 404 / 410 / 429 / 5xx), with the
  granted scopes read from ``x-oauth-scopes`` and from 403 bodies, so that *all* missing scopes are
  named together, even those whose probe could not run;
* 429 and 5xx retried with backoff (1 s, 2 s, 4 s; Bitbucket sends no Retry-After) and reported as
  INCONCLUSIVE, never as invalid credentials;
* results cached per credential for the process, under an HMAC key, never the secret.

Nothing here raises for an HTTP outcome: outcomes become :class:`PreflightCheck` entries. Secrets
appear only in the Authorization header, which is never logged.
"""

from __future__ import annotations

import base64
import enum
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import takewhile
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import SGBitbucketError, scrub
from .http import HeaderAuth
from .model import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, AuthType
from .secrets import cache_key
from .settings import checked_base_url, is_loopback
from .timeline import AppPasswordPhase, app_password_status, for_connector

logger = logging.getLogger(__name__)

AnyAuth = ApiTokenAuth | AccessTokenAuth | AppPasswordAuth

MAX_REQUESTS = 6  # per credential (Preflight algorithm, "General rules")
MAX_RETRIES = 3  # 1 s, 2 s, 4 s
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_SECONDS = 10.0
ACCEPT_JSON = {"Accept": "application/json"}
WORKSPACE_PAGES = 3  # "following next, at most 3 pages"
PLATFORM_SCOPES = ("read:account", "read:me")
INCONCLUSIVE_MESSAGE = "Bitbucket is rate-limiting or unavailable; credentials not verified — retry or skip preflight"
MIGRATE_COMMAND = "sg-bitbucket migrate --connector <ID> --to api_token"


class PreflightStatus(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this status (DESIGN.md: 0 pass, 1 fail, 3 inconclusive)."""
        return {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}[self.value]


class Outcome(enum.StrEnum):
    OK = "OK"
    AUTH_FAILED = "AUTH_FAILED"  # 401
    MISSING_SCOPE = "MISSING_SCOPE"  # 403 with error.detail.required, or known from granted scopes
    FORBIDDEN = "FORBIDDEN"  # other 403: not a member, another workspace's token, policy
    NOT_FOUND_OR_NO_ACCESS = "NOT_FOUND_OR_NO_ACCESS"  # 404, or absent from a listing
    WRONG_CREDENTIAL_TYPE = "WRONG_CREDENTIAL_TYPE"  # the token is narrower than the connector declares
    INVALID_INPUT = "INVALID_INPUT"  # local checks: nothing was sent
    UNSUPPORTED = "UNSUPPORTED"  # app passwords past StackGuardian's end of support
    RATE_LIMITED = "RATE_LIMITED"  # 429 after retries
    OUTAGE = "OUTAGE"  # 5xx after retries, timeouts, connection errors
    ENDPOINT_GONE = "ENDPOINT_GONE"  # 410: a bug in the probe
    UNEXPECTED = "UNEXPECTED"  # any other status (e.g. a redirect, which is not followed)
    SKIPPED = "SKIPPED"
    NOT_VERIFIABLE = "NOT_VERIFIABLE"
    WARNING = "WARNING"


FAILING_OUTCOMES = frozenset(
    {
        Outcome.AUTH_FAILED,
        Outcome.MISSING_SCOPE,
        Outcome.FORBIDDEN,
        Outcome.NOT_FOUND_OR_NO_ACCESS,
        Outcome.WRONG_CREDENTIAL_TYPE,
        Outcome.INVALID_INPUT,
        Outcome.UNSUPPORTED,
    }
)
INCONCLUSIVE_OUTCOMES = frozenset({Outcome.RATE_LIMITED, Outcome.OUTAGE, Outcome.ENDPOINT_GONE, Outcome.UNEXPECTED})


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PreflightCheck:
    """One probe or local rule. ``endpoint`` is a path (no host, no secret)."""

    name: str
    endpoint: str | None
    http_status: int | None
    outcome: Outcome
    message: str
    missing_scopes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "http_status": self.http_status,
            "outcome": self.outcome.value,
            "message": self.message,
            "missing_scopes": list(self.missing_scopes),
        }


@dataclass(frozen=True)
class Identity:
    username: str | None
    display_name: str | None
    uuid: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "uuid": self.uuid}


@dataclass(frozen=True)
class PreflightResult:
    status: PreflightStatus
    auth_type: AuthType
    workspace: str
    credential_type_detected: str | None
    identity: Identity | None
    checks: tuple[PreflightCheck, ...]
    missing_scopes: tuple[str, ...]
    warnings: tuple[str, ...]
    requests_made: int
    from_cache: bool = False
    fix: str = ""  # what to do about the missing scopes, worded for the auth type

    @property
    def ok(self) -> bool:
        return self.status is PreflightStatus.PASS

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; holds no secret (messages are built from names, never from credentials)."""
        return {
            "status": self.status.value,
            "auth_type": self.auth_type.value,
            "workspace": self.workspace,
            "credential_type_detected": self.credential_type_detected,
            "identity": self.identity.to_dict() if self.identity else None,
            "checks": [check.to_dict() for check in self.checks],
            "missing_scopes": list(self.missing_scopes),
            "warnings": list(self.warnings),
            "requests_made": self.requests_made,
            "from_cache": self.from_cache,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """One sentence a person can act on: what failed, every missing scope, and the fix."""
        subject = f"Bitbucket preflight of the {self.auth_type.value} for workspace {self.workspace}"
        if self.status is PreflightStatus.PASS:
            suffix = (f" with {len(self.warnings)} warning(s): " + " ".join(self.warnings)) if self.warnings else ""
            return f"{subject} passed{suffix}"
        if self.status is PreflightStatus.INCONCLUSIVE:
            details = [c.message for c in self.checks if c.outcome in INCONCLUSIVE_OUTCOMES]
            return f"{subject} was inconclusive: " + " ".join(_unique(details))
        problems = [
            c.message for c in self.checks if c.outcome in FAILING_OUTCOMES and c.outcome is not Outcome.MISSING_SCOPE
        ]
        if self.missing_scopes:
            lacks = ", ".join(_describe(scope) for scope in self.missing_scopes)
            problems.append(f"the credential lacks {lacks}; {self.fix}")
        return f"{subject} failed: " + " ".join(_end_sentence(p) for p in _unique(problems))


class PreflightError(SGBitbucketError):
    """A preflight that did not pass, for callers that stop on it; ``result`` has the details."""

    def __init__(self, result: PreflightResult) -> None:
        self.result = result
        super().__init__(result.summary())


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _end_sentence(text: str) -> str:
    return text if text.endswith((".", ")")) else text + "."


# --------------------------------------------------------------------------- scopes
@dataclass(frozen=True)
class ScopeNeed:
    """A read permission the connector needs, in one auth type's vocabulary."""

    key: str  # user | workspace | repository | project | pullrequest
    scope: str
    label: str  # as Bitbucket's token and app-password pages call it

    @property
    def described(self) -> str:
        return f"{self.label} ({self.scope})"


def _needs(*needs: ScopeNeed) -> dict[str, ScopeNeed]:
    return {need.key: need for need in needs}


# Preflight algorithm (a) and reference section 2: API-token names, which do not imply one another.
API_TOKEN_NEEDS = _needs(
    ScopeNeed("user", "read:user:bitbucket", "User: Read"),
    ScopeNeed("workspace", "read:workspace:bitbucket", "Workspace: Read"),
    ScopeNeed("repository", "read:repository:bitbucket", "Repository: Read"),
    ScopeNeed("project", "read:project:bitbucket", "Project: Read"),
    ScopeNeed("pullrequest", "read:pullrequest:bitbucket", "Pullrequest: Read"),
)
# Preflight algorithm (c): classic names; /user and /user/workspaces both need `account`.
APP_PASSWORD_NEEDS = _needs(
    ScopeNeed("user", "account", "Account: Read"),
    ScopeNeed("workspace", "account", "Account: Read"),
    ScopeNeed("repository", "repository", "Repositories: Read"),
    ScopeNeed("project", "project", "Projects: Read"),
    ScopeNeed("pullrequest", "pullrequest", "Pull requests: Read"),
)
# Preflight algorithm (b): access tokens are not users, so only resource scopes apply.
ACCESS_TOKEN_NEEDS = _needs(
    ScopeNeed("repository", "repository", "Repositories: Read"),
    ScopeNeed("project", "project", "Projects: Read"),
    ScopeNeed("pullrequest", "pullrequest", "Pull requests: Read"),
)
SCOPE_LABELS = {
    n.scope: n.label for needs in (API_TOKEN_NEEDS, APP_PASSWORD_NEEDS, ACCESS_TOKEN_NEEDS) for n in needs.values()
}
# Reference section 1(b), "Implication rules" for classic scopes; repository:admin implies nothing.
CLASSIC_IMPLIES: Mapping[str, tuple[str, ...]] = {
    "project": ("repository",),
    "pullrequest": ("repository",),
    "repository:write": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write"),
}
TOKEN_LEVELS = {
    "repo_access_token": "repository",
    "project_access_token": "project",
    "workspace_access_token": "workspace",
}
LEVEL_ORDER = ("repository", "project", "workspace")


def implied_scopes(granted: Iterable[str], classic: bool) -> set[str]:
    """Granted scopes plus what they imply: classic names imply others, API-token names do not."""
    result: set[str] = set()
    pending = list(granted)
    while pending:
        scope = pending.pop()
        if scope not in result:
            result.add(scope)
            if classic:
                pending.extend(CLASSIC_IMPLIES.get(scope, ()))
    return result


def _describe(scope: str) -> str:
    label = SCOPE_LABELS.get(scope)
    return f"{label} ({scope})" if label else scope


# --------------------------------------------------------------------------- HTTP
class BitbucketRetry(Retry):
    """urllib3's Retry with the reference's 1 s, 2 s, 4 s schedule for ``backoff_factor`` 1.

    urllib3 2 sleeps 0 before the first retry; Bitbucket's 429 carries no Retry-After, so the first
    retry must wait too. A Retry-After, if one ever comes, is still honoured by ``Retry.sleep``.
    """

    def get_backoff_time(self) -> float:
        consecutive = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if consecutive == 0:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (consecutive - 1)))


def authorization_header(auth: AnyAuth) -> str:
    """How Bitbucket wants each auth type (reference section 1): Basic email:token,
    Basic username:app_password, Bearer access token."""
    if isinstance(auth, AccessTokenAuth):
        return "Bearer " + auth.access_token.reveal()
    user = auth.email if isinstance(auth, ApiTokenAuth) else auth.username
    pair = f"{user}:{auth.secret.reveal()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class ProbeResponse:
    """What preflight keeps of one answer; ``status`` None means no HTTP answer at all."""

    endpoint: str
    status: int | None
    body: Any = None
    credential_type: str | None = None
    granted: tuple[str, ...] | None = None  # x-oauth-scopes, else a 403 body's detail.granted
    transport_error: str | None = None

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

    @property
    def outcome(self) -> Outcome:
        """The classification of the Preflight algorithm's "General rules"."""
        if self.status is None:
            return Outcome.OUTAGE
        if self.status == 200:
            return Outcome.OK
        if self.status == 401:
            return Outcome.AUTH_FAILED
        if self.status == 403:
            return Outcome.MISSING_SCOPE if isinstance(self.error_detail.get("required"), list) else Outcome.FORBIDDEN
        if self.status == 404:
            return Outcome.NOT_FOUND_OR_NO_ACCESS
        if self.status == 410:
            return Outcome.ENDPOINT_GONE
        if self.status == 429:
            return Outcome.RATE_LIMITED
        if self.status >= 500:
            return Outcome.OUTAGE
        return Outcome.UNEXPECTED

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
        self.api_url = checked_base_url(api_url, "bitbucket_api_url")
        parts = urlsplit(self.api_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._auth = HeaderAuth(authorization)
        self.budget = budget
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self.requests_made = 0
        self._owns_session = session is None
        self.session = session or requests.Session()
        if self._owns_session and is_loopback(parts.hostname):
            # Loopback (the emulator) must never go through a proxy from the environment.
            self.session.trust_env = False
        self._adapter = HTTPAdapter()
        self.session.mount(self.api_url + "/", self._adapter)

    @property
    def remaining(self) -> int:
        return self.budget - self.requests_made

    def endpoint(self, url: str) -> str:
        """The path and query of a URL: what checks and logs show (no host, never a credential)."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def same_origin(self, url: str) -> bool:
        return url.startswith(self._origin + "/")

    def get(self, path_or_url: str, params: Mapping[str, str] | None = None) -> ProbeResponse:
        """GET an API path (``/user``) or a ``next`` link on the API's origin."""
        if self.remaining < 1:
            raise RuntimeError("preflight request budget exhausted; check `remaining` first")
        url = path_or_url if "://" in path_or_url else self.api_url + path_or_url
        if not self.same_origin(url):
            raise ValueError("refusing to send credentials to another origin than the Bitbucket API URL")
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
        try:
            response = self.session.get(
                url, headers=ACCEPT_JSON, auth=self._auth, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            self.requests_made += 1 + retries
            reason = type(exc).__name__
            logger.debug("Bitbucket GET %s failed: %s", endpoint, reason)
            return ProbeResponse(endpoint, None, transport_error=reason)
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self.requests_made += 1 + len(history)
        logger.debug("Bitbucket GET %s -> %s (%d retries)", endpoint, response.status_code, len(history))
        try:
            body: Any = response.json()
        except ValueError:
            body = None  # 429s are text/plain; some errors are HTML
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


# --------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class Wording:
    """How to word the non-scope failures of one probe."""

    not_found: str
    forbidden: str | None = None
    halt_on_forbidden: bool = False  # a 403 that rules out every later probe (another workspace's token)


class _Run:
    """The checks of one preflight, the facts learnt so far, and the shared handling of answers."""

    def __init__(self, auth: AnyAuth, workspace: str, client: BitbucketClient, profile: _Profile) -> None:
        self.auth_type = auth.auth_type
        self.workspace = workspace
        self.client = client
        self.profile = profile
        self.needs = profile.needs
        self.subject = profile.subject  # "Token", "App password", "Access token"
        who = auth.email if isinstance(auth, ApiTokenAuth) else getattr(auth, "username", "")
        self.auth_failed = profile.auth_failed.format(who=who)
        self.classic = not isinstance(auth, ApiTokenAuth)
        self.secret = auth.secret.reveal()
        self.checks: list[PreflightCheck] = []
        self.warnings: list[str] = []
        self.granted: set[str] | None = None
        self.credential_type: str | None = None
        self.identity: Identity | None = None
        self.halted: str | None = None  # why the remaining probes are not run
        self.settled: set[str] = set()  # scope needs a probe has answered (OK or missing)

    # ------------------------------------------------------------------ recording
    def add(
        self,
        name: str,
        outcome: Outcome,
        message: str,
        response: ProbeResponse | None = None,
        missing: Iterable[str] = (),
    ) -> None:
        self.checks.append(
            PreflightCheck(
                name,
                response.endpoint if response else None,
                response.status if response else None,
                outcome,
                scrub(message, [self.secret]),
                tuple(sorted(set(missing))),
            )
        )

    def warn(self, name: str, message: str, response: ProbeResponse | None = None) -> None:
        self.add(name, Outcome.WARNING, message, response)
        self.warnings.append(message)

    def skip(self, name: str, message: str) -> None:
        self.add(name, Outcome.SKIPPED, message)
        self.warnings.append(message)

    @property
    def failed(self) -> bool:
        return any(c.outcome in FAILING_OUTCOMES for c in self.checks)

    # ------------------------------------------------------------------ probing
    def get(self, name: str, path: str, params: Mapping[str, str] | None = None) -> ProbeResponse | None:
        """One probe, or a SKIPPED check when an earlier answer or the request budget rules it out."""
        if self.halted:
            self.add(name, Outcome.SKIPPED, f"not run: {self.halted}")
            return None
        if self.client.remaining < 1:
            self.skip(name, f"not run: preflight makes at most {MAX_REQUESTS} requests per credential")
            return None
        response = self.client.get(path, params)
        if response.credential_type:
            self.credential_type = response.credential_type
        if response.granted is not None:
            self.granted = set(response.granted)
        return response

    def satisfied(self, need: ScopeNeed) -> bool | None:
        """Whether the granted scopes Bitbucket reported cover a need; None when none were reported."""
        if self.granted is None:
            return None
        return need.scope in implied_scopes(self.granted, self.classic)

    def answer(self, name: str, response: ProbeResponse | None, need: ScopeNeed | None, wording: Wording) -> bool:
        """Record the check for any answer but 200; True for 200 (the caller records what it learnt)."""
        if response is None:
            return False
        outcome = response.outcome
        if need is not None and outcome in (Outcome.OK, Outcome.MISSING_SCOPE):
            self.settled.add(need.key)
        if outcome is Outcome.OK:
            return True
        if outcome is Outcome.AUTH_FAILED:
            self.add(name, outcome, self.auth_failed, response)
            self.halted = "Bitbucket rejected the credential (401)"
        elif outcome is Outcome.MISSING_SCOPE:
            missing = self._missing_from_body(response) or ([need.scope] if need else [])
            described = ", ".join(_describe(s) for s in missing)
            self.add(name, outcome, f"{self.subject} lacks {described}.", response, missing)
        elif outcome is Outcome.FORBIDDEN:
            said = response.error_message or "Forbidden"
            message = wording.forbidden or (
                f"Bitbucket refused {response.endpoint} (403 {said!r}) without naming a missing scope: the "
                "account may lack access, or an IP allowlist or Atlassian Guard policy blocks it."
            )
            self.add(name, outcome, message, response)
            if wording.halt_on_forbidden:
                self.halted = "Bitbucket refuses this credential in this workspace (403)"
        elif outcome is Outcome.NOT_FOUND_OR_NO_ACCESS:
            self.add(name, outcome, wording.not_found, response)
        elif outcome in (Outcome.RATE_LIMITED, Outcome.OUTAGE):
            what = "rate-limited (429)" if outcome is Outcome.RATE_LIMITED else "unavailable"
            cause = response.status or response.transport_error
            self.add(name, outcome, f"{INCONCLUSIVE_MESSAGE} ({what}: {cause}, after retries).", response)
            self.halted = "Bitbucket is rate-limiting or unavailable"
        elif outcome is Outcome.ENDPOINT_GONE:
            message = f"internal error: Bitbucket retired {response.endpoint} (410); please report it."
            self.add(name, outcome, message, response)
        else:
            message = (
                f"Bitbucket answered {response.status} to {response.endpoint}; redirects are not followed, so "
                "credentials never reach another host."
            )
            self.add(name, outcome, message, response)
        return False

    def _missing_from_body(self, response: ProbeResponse) -> list[str]:
        """`required` minus `granted` (with implications) from a privilege-scope 403."""
        required = [str(s) for s in response.error_detail.get("required", [])]
        granted = response.error_detail.get("granted")
        effective = implied_scopes([str(s) for s in granted], self.classic) if isinstance(granted, list) else set()
        return [s for s in required if s not in effective]

    def scope_probe(
        self, name: str, need_key: str, path: str, params: Mapping[str, str], wording: Wording
    ) -> ProbeResponse | None:
        """A probe whose point is one scope; records OK itself. Returns the 200 answer or None."""
        need = self.needs[need_key]
        response = self.get(name, path, params)
        if not self.answer(name, response, need, wording):
            return None
        assert response is not None
        self.add(name, Outcome.OK, f"{need.described} granted.", response)
        return response

    # ------------------------------------------------------------------ steps shared by the auth types
    def repositories(
        self, configured: Sequence[str], listing: ProbeResponse | None, wording: Wording, reserve: int
    ) -> list[str]:
        """Step (a)4 / (b)4: each configured repository is readable; a listing hit saves its request."""
        visible = {str(v.get("slug")) for v in listing.values()} if listing else set()
        confirmed: list[str] = []
        for slug in configured:
            name = f"repository:{slug}"
            full_name = f"{self.workspace}/{slug}"
            if slug in visible:
                self.add(name, Outcome.OK, f"repository {full_name} is accessible.", listing)
                confirmed.append(slug)
                continue
            if self.client.remaining <= reserve and not self.halted:
                self.skip(
                    name,
                    f"repository {full_name} not checked: preflight makes at most {MAX_REQUESTS} "
                    "requests per credential.",
                )
                continue
            response = self.get(name, f"/repositories/{self.workspace}/{slug}")
            wording_here = replace(wording, not_found=f"Repository {full_name} {wording.not_found}")
            if self.answer(name, response, self.needs["repository"], wording_here):
                self.add(name, Outcome.OK, f"repository {full_name} is accessible.", response)
                confirmed.append(slug)
        return confirmed

    def pullrequests(self, repository: str | None, why_none: str) -> None:
        """Step (a)6 / (b)3: pull requests readable, probed on a repository, else judged from the scopes."""
        need = self.needs["pullrequest"]
        if repository is None:
            if self.satisfied(need) is True:
                self.skip(
                    "pullrequest_read",
                    f"pull-request read not probed ({why_none}); {need.described} "
                    "is among the granted scopes Bitbucket reported.",
                )
            elif self.satisfied(need) is None and not self.halted:
                self.skip("pullrequest_read", f"pull-request read not verified: {why_none}.")
            return  # a known-missing scope is reported by infer_missing()
        path = f"/repositories/{self.workspace}/{repository}/pullrequests"
        wording = Wording(f"repository {self.workspace}/{repository} not found or not accessible.")
        self.scope_probe("pullrequest_read", "pullrequest", path, {"pagelen": "10"}, wording)

    def infer_missing(self, required: Iterable[str]) -> None:
        """Name the scopes no probe answered for but that the granted scopes show to be missing."""
        for key in required:
            need = self.needs[key]
            if key in self.settled or self.satisfied(need) is not False:
                continue
            self.settled.add(key)
            message = (
                f"{self.subject} lacks {need.described} (from the scopes Bitbucket reported as granted; not probed)."
            )
            self.add(f"{key}_scope", Outcome.MISSING_SCOPE, message, missing=[need.scope])

    def result(self) -> PreflightResult:
        outcomes = {c.outcome for c in self.checks}
        if outcomes & FAILING_OUTCOMES:
            status = PreflightStatus.FAIL
        elif outcomes & INCONCLUSIVE_OUTCOMES:
            status = PreflightStatus.INCONCLUSIVE
        else:
            status = PreflightStatus.PASS
        return PreflightResult(
            status=status,
            auth_type=self.auth_type,
            workspace=self.workspace,
            credential_type_detected=self.credential_type,
            identity=self.identity,
            checks=tuple(self.checks),
            missing_scopes=tuple(sorted({s for c in self.checks for s in c.missing_scopes})),
            warnings=tuple(_unique(self.warnings)),
            requests_made=self.client.requests_made,
            fix=self.profile.fix,
        )


# --------------------------------------------------------------------------- (a) API tokens and (c) app passwords
def _probe_user_credential(run: _Run, username: str, repositories: Sequence[str], who: str, expected_type: str) -> None:
    """Steps 2-6 of algorithm (a); app passwords (algorithm (c) step 3) run them with classic names."""
    ws = run.workspace
    workspace_wording = Wording(f"workspace {ws} not found or not accessible (check the slug).")
    response = run.scope_probe(
        "identity", "user", "/user", {}, Wording("GET /user answered 404: the Bitbucket API URL must end in /2.0.")
    )
    if run.halted:
        return
    if response is not None:
        body = response.body if isinstance(response.body, dict) else {}
        run.identity = Identity(body.get("username"), body.get("display_name"), body.get("uuid"))
        names = {str(body[k]).lower() for k in ("username", "nickname") if body.get(k)}
        if names and username.lower() not in names:
            account = body.get("username") or body.get("nickname")
            run.warn(
                "username_match",
                f"Git user name {username} does not match the credential's account {account}; git clone may fail.",
                response,
            )
    if run.credential_type and run.credential_type != expected_type:
        run.warn(
            "credential_type",
            f"Bitbucket reports credential type {run.credential_type!r}, not "
            f"{expected_type!r}: this looks like a different credential type.",
        )

    _check_membership(run, who, reserve=3 + len(repositories))

    listing = run.scope_probe(
        "repository_read",
        "repository",
        f"/repositories/{ws}",
        {"pagelen": "10", "role": "member"},
        workspace_wording,
    )
    if listing is not None and not listing.values():
        message = f"{who} can see no repositories in {ws}."
        if repositories:
            run.add("repositories_visible", Outcome.NOT_FOUND_OR_NO_ACCESS, message, listing)
        else:
            run.warn("repositories_visible", message, listing)
    confirmed = run.repositories(repositories, listing, Wording("not found or not accessible."), reserve=2)

    run.scope_probe(
        "project_read",
        "project",
        f"/workspaces/{ws}/projects",
        {"pagelen": "10"},
        replace(
            workspace_wording,
            forbidden=f"{who} may not list the projects of workspace {ws} (403 Forbidden): not a member?",
        ),
    )
    discovered = [str(v.get("slug")) for v in listing.values()] if listing else []
    target = next(iter(confirmed), None) or (None if repositories else next(iter(discovered), None))
    run.pullrequests(target, f"no accessible repository in {ws} to probe")


def _check_membership(run: _Run, who: str, reserve: int) -> None:
    """Step (a)3: the target workspace is among /user/workspaces (at most 3 pages, within the budget)."""
    ws = run.workspace
    name = "workspace_membership"
    wording = Wording("GET /user/workspaces answered 404: the Bitbucket API URL must end in /2.0.")
    response = run.get(name, "/user/workspaces", {"pagelen": "100"})
    pages = 1
    seen: set[str] = set()
    while run.answer(name, response, run.needs["workspace"], wording):
        assert response is not None
        seen |= {str((v.get("workspace") or {}).get("slug")) for v in response.values()}
        if ws in seen:
            run.add(name, Outcome.OK, f"{who} is a member of workspace {ws}.", response)
            return
        next_url = response.next_url()
        if next_url is None:
            message = f"Account {who} is not a member of workspace {ws} (or the slug is wrong)."
            run.add(name, Outcome.NOT_FOUND_OR_NO_ACCESS, message, response)
            return
        if pages >= WORKSPACE_PAGES or run.client.remaining <= reserve or not run.client.same_origin(next_url):
            run.warn(
                name,
                f"workspace {ws} is not among the first {len(seen)} workspaces of {who}; membership "
                "not confirmed within the request budget.",
                response,
            )
            return
        response = run.get(name, next_url)
        pages += 1


def _platform_scopes_check(run: _Run) -> None:
    """Step (a)7: read:account / read:me are Atlassian platform scopes no Bitbucket answer can prove."""
    absent = [s for s in PLATFORM_SCOPES if run.granted is not None and s not in run.granted]
    text = "read:account and read:me (StackGuardian's Account: Read and Me: Read) are Atlassian platform scopes"
    if absent:
        # Not a warning: the README's own scope list leaves them out on purpose (no Bitbucket endpoint
        # needs them), and a warning on every command for a choice the user made is noise.
        run.add(
            "platform_scopes",
            Outcome.NOT_VERIFIABLE,
            f"{text}; Bitbucket's x-oauth-scopes does not list {', '.join(absent)}. No "
            "Bitbucket endpoint needs them; add them only if StackGuardian asks for them.",
        )
    else:
        run.add("platform_scopes", Outcome.NOT_VERIFIABLE, f"{text}: not verifiable on api.bitbucket.org.")


def _api_token_preflight(run: _Run, auth: ApiTokenAuth, repositories: Sequence[str]) -> None:
    """Algorithm (a): Basic email:token; five scopes, each probed on its own endpoint."""
    if "@" not in auth.email:
        run.add(
            "email",
            Outcome.INVALID_INPUT,
            "API tokens authenticate with your Atlassian account email, not your Bitbucket username.",
        )
    if "@" in auth.username:
        run.add(
            "username",
            Outcome.INVALID_INPUT,
            "User name is your Bitbucket username (for git); put the email in the email field.",
        )
    if not run.failed:
        _probe_user_credential(run, auth.username, repositories, auth.email, "api_token")
        run.infer_missing(API_TOKEN_NEEDS)
        if not run.halted:
            _platform_scopes_check(run)


def _app_password_preflight(
    run: _Run, auth: AppPasswordAuth, repositories: Sequence[str], now: datetime, new_connector: bool
) -> None:
    """Algorithm (c): the timeline gate first, then (a)'s probes with classic scope names."""
    if "@" in auth.username:
        run.add(
            "username",
            Outcome.INVALID_INPUT,
            "App passwords authenticate with your Bitbucket username (see bitbucket.org/account/settings), "
            "not your email.",
        )
    status = app_password_status(now)
    if not status.allowed:  # names `sg-bitbucket migrate`, without a placeholder for the connector
        run.add("app_password_timeline", Outcome.UNSUPPORTED, for_connector(status.message, None))
    elif status.phase is AppPasswordPhase.DEPRECATED:
        run.warn("app_password_timeline", for_connector(status.message, None))
        if new_connector:
            run.warn(
                "app_password_new_connector",
                "App passwords can no longer be created and stop working on 2026-07-28 (brownouts from "
                "2026-06-09): use this only with an existing password; prefer an API token.",
            )
    else:
        run.add(
            "app_password_timeline", Outcome.OK, f"{status.message}; plan the move to API tokens (`{MIGRATE_COMMAND}`)."
        )
    if not run.failed:
        _probe_user_credential(run, auth.username, repositories, auth.username, "app_password")
        run.infer_missing(APP_PASSWORD_NEEDS)
        if not run.halted and run.granted is not None and "team" not in run.granted:
            run.warn(
                "team_scope",
                "StackGuardian lists Workspace membership: Read (team) for app passwords; it "
                "is not among the granted scopes (no probe needs it).",
            )


# --------------------------------------------------------------------------- (b) access tokens
def _access_token_preflight(run: _Run, auth: AccessTokenAuth, repositories: Sequence[str]) -> None:
    """Algorithm (b): Bearer; confined to one repository, project or workspace; not a user."""
    ws = run.workspace
    configured = _unique([r for r in (auth.repository, *repositories) if r])
    outside = (
        "is outside this token's scope or does not exist (a repository access token only sees its own repository)."
    )
    wording = Wording(
        not_found=f"workspace {ws} not found or not accessible (check the slug).",
        forbidden=(
            f"This access token does not belong to workspace {ws} (Bitbucket: 'This API is not accessible by this "
            "authentication mechanism'); access tokens work only in the workspace they were created in."
        ),
        halt_on_forbidden=True,
    )
    listing: ProbeResponse | None = None
    if auth.scope == "repository" and len(configured) > 1:
        run.add(
            "coverage",
            Outcome.FORBIDDEN,
            f"A repository access token can access only {ws}/{auth.repository}; use a project/workspace "
            "access token or an API token.",
        )
    if auth.scope == "project":
        run.scope_probe(
            "project_read",
            "project",
            f"/workspaces/{ws}/projects/{auth.project}",
            {},
            replace(wording, not_found=f"Project {auth.project} {outside}"),
        )
    if auth.scope != "repository":
        params = {"q": f'project.key="{auth.project}"'} if auth.scope == "project" else {}
        listing = run.scope_probe(
            "repository_read", "repository", f"/repositories/{ws}", {**params, "pagelen": "10"}, wording
        )
    if auth.scope == "workspace":
        run.scope_probe("project_read", "project", f"/workspaces/{ws}/projects", {"pagelen": "10"}, wording)
    # A repository token's first call is its own repository (step (b)2), checked like any configured one.
    confirmed = run.repositories(configured, listing, replace(wording, not_found=outside), reserve=1)
    _check_token_level(run, auth.scope)
    discovered = [str(v.get("slug")) for v in listing.values()] if listing else []
    target = next(iter(confirmed), None) or (None if configured else next(iter(discovered), None))
    run.pullrequests(target, f"no repository this token can read in {ws}")
    run.infer_missing(["repository", "pullrequest"] + (["project"] if auth.scope != "repository" else []))
    run.add(
        "user_scopes",
        Outcome.NOT_VERIFIABLE,
        "Account, Me, User and Workspace: Read are not applicable to access tokens (tokens are not users).",
    )


def _check_token_level(run: _Run, declared: str) -> None:
    """Step (b)4: the token covers what the connector declares (narrower fails, wider warns)."""
    detected = TOKEN_LEVELS.get(run.credential_type or "")
    if detected is None or detected == declared:
        return
    text = (
        f"Bitbucket reports a {detected} access token ({run.credential_type}) but the connector declares "
        f"scope {declared}"
    )
    if LEVEL_ORDER.index(detected) < LEVEL_ORDER.index(declared):
        run.add(
            "token_type",
            Outcome.WRONG_CREDENTIAL_TYPE,
            f"{text}; a {detected} token cannot cover the whole {declared}: set scope: {detected} (naming its "
            f"{detected}), or create a {declared} access token.",
        )
    else:
        run.warn("token_type", f"{text}; it can see more than declared: set scope: {detected} to describe it.")


@dataclass(frozen=True)
class _Profile:
    """What differs between auth types: scope vocabulary, who is speaking, the 401 text, the fix."""

    needs: Mapping[str, ScopeNeed]
    subject: str
    auth_failed: str  # {who}: the email or username
    fix: str  # what to do about missing scopes


_PROFILES = {
    AuthType.API_TOKEN: _Profile(
        API_TOKEN_NEEDS,
        "Token",
        "Bitbucket rejected the API token for {who}. Check that: the email is your Atlassian account email; the "
        "token was created with 'Create API token with scopes' for the Bitbucket app (unscoped or Jira-only "
        "tokens fail); it is not expired or revoked (API tokens expire within 1 year).",
        "create a new API token with all of them (Atlassian API tokens cannot be edited: 'Create API token with "
        "scopes', app Bitbucket) and update the connector",
    ),
    AuthType.ACCESS_TOKEN: _Profile(
        ACCESS_TOKEN_NEEDS,
        "Access token",
        "Bitbucket rejected the access token. It may be revoked, or the resource it belonged to was deleted or "
        "transferred (repository tokens are revoked on transfer). Access tokens are sent as Bearer. If this is "
        "an Atlassian API token, choose the 'API token' type and supply your email.",
        "create a new access token with all of them (access-token scopes cannot be changed after creation) and "
        "update the connector",
    ),
    # Algorithm (c) step 2 also words a brownout 401 (2026-06-09..07-27); preflight refuses app
    # passwords from 2026-06-09 before sending anything, so only the plain message remains.
    AuthType.APP_PASSWORD: _Profile(
        APP_PASSWORD_NEEDS,
        "App password",
        "Invalid username or app password for {who} (app passwords authenticate with the Bitbucket username, "
        "not the email).",
        f"app passwords can no longer be created or changed; migrate the connector with `{MIGRATE_COMMAND}` to "
        "an API token with the scopes it needs",
    ),
}


# --------------------------------------------------------------------------- cache and entry point
class PreflightCache:
    """Results per credential for this process, keyed by an HMAC (``secrets.cache_key``), never the secret.

    Inconclusive results are not kept: the advice for them is to retry. Concurrent runs for the same
    key wait for the first, so one credential is checked once even under ``--parallelism``.
    """

    def __init__(self) -> None:
        self._results: dict[str, PreflightResult] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get_or_run(self, key: str, run: Callable[[], PreflightResult]) -> PreflightResult:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._results.get(key)
            if cached is not None:
                return replace(cached, from_cache=True, requests_made=0)
            result = run()
            if result.status is not PreflightStatus.INCONCLUSIVE:
                self._results[key] = result
            return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        return len(self._results)


DEFAULT_CACHE = PreflightCache()


def preflight_cache_key(
    auth: AnyAuth, workspace: str, api_url: str, repositories: Sequence[str], context: Iterable[str] = ()
) -> str:
    """What makes two preflights the same: credential, identity, target and API URL (plus context)."""
    identity = [
        getattr(auth, "email", "") or "",
        getattr(auth, "username", "") or "",
        getattr(auth, "scope", "") or "",
        getattr(auth, "repository", "") or "",
        getattr(auth, "project", "") or "",
    ]
    return cache_key(
        "preflight/v1",
        auth.auth_type.value,
        auth.secret.reveal(),
        *identity,
        workspace,
        api_url,
        "\x1f".join(repositories),
        *context,
    )


def run_preflight(
    auth: AnyAuth,
    workspace: str,
    *,
    api_url: str,
    now: datetime,
    new_connector: bool = True,
    repositories: Sequence[str] = (),
    cache: PreflightCache | None = DEFAULT_CACHE,
    retry_backoff: float = 1.0,
    session: requests.Session | None = None,
) -> PreflightResult:
    """Check one credential against Bitbucket for ``workspace``; never raises for an HTTP outcome.

    ``now`` is the product clock (app-password timeline). ``repositories`` are slugs the connector
    must reach (an access token's own ``repository`` is added automatically). ``retry_backoff`` is
    the backoff factor: 1.0 gives the reference's 1 s, 2 s, 4 s.
    """
    base = checked_base_url(api_url, "bitbucket_api_url")
    repositories = tuple(_unique(repositories))
    context: tuple[str, ...] = ()
    if isinstance(auth, AppPasswordAuth):  # only their verdict depends on the date and on new vs existing
        context = (app_password_status(now).phase.value, str(new_connector))

    def execute() -> PreflightResult:
        return _execute(auth, workspace, base, now, new_connector, repositories, retry_backoff, session)

    if cache is None:
        return execute()
    return cache.get_or_run(preflight_cache_key(auth, workspace, base, repositories, context), execute)


def _execute(
    auth: AnyAuth,
    workspace: str,
    api_url: str,
    now: datetime,
    new_connector: bool,
    repositories: Sequence[str],
    retry_backoff: float,
    session: requests.Session | None,
) -> PreflightResult:
    client = BitbucketClient(api_url, authorization_header(auth), retry_backoff=retry_backoff, session=session)
    run = _Run(auth, workspace, client, _PROFILES[auth.auth_type])
    try:
        if not auth.secret.reveal():
            run.add("secret", Outcome.INVALID_INPUT, f"the {auth.auth_type.value.replace('_', ' ')} is empty.")
        elif not workspace.strip():
            run.add("workspace", Outcome.INVALID_INPUT, "the Bitbucket workspace is required for preflight.")
        elif isinstance(auth, ApiTokenAuth):
            _api_token_preflight(run, auth, repositories)
        elif isinstance(auth, AppPasswordAuth):
            _app_password_preflight(run, auth, repositories, now, new_connector)
        else:
            _access_token_preflight(run, auth, repositories)
    finally:
        client.close()
    result = run.result()
    logger.info(
        "Bitbucket preflight of the %s for workspace %s: %s (%d requests)",
        auth.auth_type.value,
        workspace,
        result.status.value,
        result.requests_made,
    )
    return result


__all__ = [
    "DEFAULT_CACHE",
    "MAX_REQUESTS",
    "BitbucketClient",
    "BitbucketRetry",
    "Identity",
    "Outcome",
    "PreflightCache",
    "PreflightCheck",
    "PreflightError",
    "PreflightResult",
    "PreflightStatus",
    "ProbeResponse",
    "authorization_header",
    "implied_scopes",
    "run_preflight",
]
