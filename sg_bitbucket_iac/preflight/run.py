"""One preflight run: the checks recorded so far, the facts learnt, and how any answer is recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..bitbucket import MAX_REQUESTS, ApiPath, BitbucketClient, ProbeResponse, pullrequests_path, repository_path
from ..model import AnyAuth, ScopeNeed
from ..redact import escape_control
from ..redact import scrub_text as scrub
from .result import (
    FAILING_OUTCOMES,
    Identity,
    Outcome,
    PreflightCheck,
    PreflightResult,
    status_of,
    unique,
)
from .scopes import describe, implied_scopes

INCONCLUSIVE_MESSAGE = "Bitbucket is rate-limiting or unavailable; credentials not verified — retry or skip preflight"


def outcome_of(response: ProbeResponse) -> Outcome:
    """The classification of the Preflight algorithm's "General rules"."""
    if response.status is None:
        return Outcome.OUTAGE
    if response.status == 200:
        return Outcome.OK
    if response.status == 401:
        return Outcome.AUTH_FAILED
    if response.status == 403:
        return Outcome.MISSING_SCOPE if isinstance(response.error_detail.get("required"), list) else Outcome.FORBIDDEN
    if response.status == 404:
        return Outcome.NOT_FOUND_OR_NO_ACCESS
    if response.status == 410:
        return Outcome.ENDPOINT_GONE
    if response.status == 429:
        return Outcome.RATE_LIMITED
    if response.status >= 500:
        return Outcome.OUTAGE
    return Outcome.UNEXPECTED



@dataclass(frozen=True)
class Wording:
    """How to word the non-scope failures of one probe."""

    not_found: str
    forbidden: str | None = None
    halt_on_forbidden: bool = False  # a 403 that rules out every later probe (another workspace's token)


class ProbeRun:
    """The checks of one preflight, the facts learnt so far, and the shared handling of answers."""

    def __init__(self, auth: AnyAuth, workspace: str, client: BitbucketClient) -> None:
        self.auth_type = auth.auth_type
        self.workspace = workspace
        self.client = client
        self.profile = auth.preflight
        self.needs = self.profile.needs
        self.subject = self.profile.subject  # "Token", "App password", "Access token"
        self.auth_failed = self.profile.auth_failed.format(who=auth.account)
        self.classic = self.profile.classic_scopes
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
                escape_control(scrub(message, [self.secret]), keep=""),  # Bitbucket's words: never raw escapes
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
    def get(self, name: str, path: ApiPath | str, params: Mapping[str, str] | None = None) -> ProbeResponse | None:
        """One probe, or a SKIPPED check when an earlier answer or the request budget rules it out.

        ``path``: an API path, or a ``next`` link the client may follow.
        """
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
        outcome = outcome_of(response)
        if need is not None and outcome in (Outcome.OK, Outcome.MISSING_SCOPE):
            self.settled.add(need.key)
        if outcome is Outcome.OK:
            return True
        if outcome is Outcome.AUTH_FAILED:
            self.add(name, outcome, self.auth_failed, response)
            self.halted = "Bitbucket rejected the credential (401)"
        elif outcome is Outcome.MISSING_SCOPE:
            missing = self._missing_from_body(response) or ([need.scope] if need else [])
            described = ", ".join(describe(s) for s in missing)
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
        self, name: str, need_key: str, path: ApiPath, params: Mapping[str, str], wording: Wording
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
        """Step 4 of both token preflights: each configured repository is readable; a listing hit saves its request."""
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
            response = self.get(name, repository_path(self.workspace, slug))
            wording_here = replace(wording, not_found=f"Repository {full_name} {wording.not_found}")
            if self.answer(name, response, self.needs["repository"], wording_here):
                self.add(name, Outcome.OK, f"repository {full_name} is accessible.", response)
                confirmed.append(slug)
        return confirmed

    def pullrequests(self, repository: str | None, why_none: str) -> None:
        """API-token step 6 / access-token step 3: pull requests readable, probed on a repository, else by scopes."""
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
        path = pullrequests_path(self.workspace, repository)
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
        return PreflightResult(
            status=status_of(self.checks),
            auth_type=self.auth_type,
            workspace=self.workspace,
            credential_type_detected=self.credential_type,
            identity=self.identity,
            checks=tuple(self.checks),
            missing_scopes=tuple(sorted({s for c in self.checks for s in c.missing_scopes})),
            warnings=tuple(unique(self.warnings)),
            requests_made=self.client.requests_made,
            fix=self.profile.fix,
        )

