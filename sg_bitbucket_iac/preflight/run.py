"""One preflight run: the checks recorded so far, the facts learnt, and how any answer is recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..bitbucket import MAX_REQUESTS, ApiPath, BitbucketClient, ProbeResponse, pullrequests_path, repository_path
from ..model import AnyAuth
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
from .scopes import describe, implied_scopes, row_scopes_granting

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
        self.probe_scopes = self.profile.probes  # what each probe reads -> the scope its endpoint needs
        self.row = auth.required_scopes  # the guide's row: what this credential must hold
        # What StackGuardian's guide calls the credential, for messages: "an API token", "a project access token".
        self.a_guide_name = ("an " if auth.guide_name[0] in "AEIOUaeiou" else "a ") + auth.guide_name
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
        self.judged: set[str] = set()  # scopes of the row a check already names (granted, missing, not verified)

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

    @property
    def asks_pullrequests(self) -> bool:
        """Whether the guide's row asks this credential for pull-request read (API tokens only)."""
        return self.probe_scopes.get("pullrequest") in self.row

    def satisfied(self, scope: str) -> bool | None:
        """Whether the granted scopes Bitbucket reported give ``scope``; None when none were reported."""
        if self.granted is None:
            return None
        return scope in implied_scopes(self.granted, self.classic)

    def answer(self, name: str, response: ProbeResponse | None, scope: str | None, wording: Wording) -> bool:
        """Record the check for any answer but 200; True for 200 (the caller records what it learnt).

        ``scope``: what the endpoint needs. A 200 settles it if the row names it; a missing-scope 403
        names the row's scopes that would have given what Bitbucket refused.
        """
        if response is None:
            return False
        outcome = outcome_of(response)
        if outcome is Outcome.OK:
            if scope in self.row:
                self.judged.add(scope)
            return True
        if outcome is Outcome.AUTH_FAILED:
            self.add(name, outcome, self.auth_failed, response)
            self.halted = "Bitbucket rejected the credential (401)"
        elif outcome is Outcome.MISSING_SCOPE:
            refused = self._missing_from_body(response) or ([scope] if scope else [])
            lacking, message = self._lacking(refused)
            if lacking:
                self.judged.update(lacking)
                self.add(name, outcome, message, response, lacking)
            else:  # never a failure for a scope outside the row: Bitbucket asks it of this probe, the guide does not
                self.warn(name, f"Bitbucket refused {response.endpoint} for lack of "
                          f"{', '.join(describe(s) for s in refused)}, which StackGuardian's guide does not ask of "
                          f"{self.a_guide_name}; not required.", response)
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

    def _lacking(self, refused: Sequence[str]) -> tuple[list[str], str]:
        """The row's scopes that the refused ones stand for, and the sentence naming them in the guide's words."""
        lacking: list[str] = []
        given: list[str] = []  # refused scopes the row grants only by implication
        for scope in refused:
            granting = row_scopes_granting(scope, self.row, self.classic)
            lacking.extend(s for s in granting if s not in lacking)
            if granting and scope not in granting:
                given.append(scope)
        message = f"{self.subject} lacks {', '.join(describe(s) for s in lacking)}"
        if given:
            message += f", which gives the {', '.join(describe(s) for s in given)} this probe needs"
        return lacking, message + "."

    def _missing_from_body(self, response: ProbeResponse) -> list[str]:
        """`required` minus `granted` (with implications) from a privilege-scope 403."""
        required = [str(s) for s in response.error_detail.get("required", [])]
        granted = response.error_detail.get("granted")
        effective = implied_scopes([str(s) for s in granted], self.classic) if isinstance(granted, list) else set()
        return [s for s in required if s not in effective]

    def scope_probe(
        self, name: str, reads: str, path: ApiPath, params: Mapping[str, str], wording: Wording
    ) -> ProbeResponse | None:
        """A probe whose point is one scope (``reads``: a key of the profile's probes); records OK itself.
        Returns the 200 answer or None."""
        scope = self.probe_scopes[reads]
        response = self.get(name, path, params)
        if not self.answer(name, response, scope, wording):
            return None
        assert response is not None
        self.add(name, Outcome.OK, f"{describe(scope)} granted.", response)
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
            if self.answer(name, response, self.probe_scopes["repository"], wording_here):
                self.add(name, Outcome.OK, f"repository {full_name} is accessible.", response)
                confirmed.append(slug)
        return confirmed

    def pullrequests(self, repository: str | None, why_none: str) -> None:
        """API-token step 6: pull requests readable, probed on a repository, else judged by the granted scopes.

        Only where the guide's row asks for Pull requests: Read (API tokens); other credentials are never probed.
        """
        if not self.asks_pullrequests:
            return
        scope = self.probe_scopes["pullrequest"]
        if repository is None:
            if self.satisfied(scope) is True:
                self.judged.add(scope)
                self.skip(
                    "pullrequest_read",
                    f"pull-request read not probed ({why_none}); {describe(scope)} "
                    "is among the granted scopes Bitbucket reported.",
                )
            elif self.satisfied(scope) is None and not self.halted:
                self.judged.add(scope)
                self.skip("pullrequest_read", f"pull-request read not verified: {why_none}.")
            return  # a known-missing scope is reported by judge_row()
        path = pullrequests_path(self.workspace, repository)
        wording = Wording(f"repository {self.workspace}/{repository} not found or not accessible.")
        self.scope_probe("pullrequest_read", "pullrequest", path, {"pagelen": "10"}, wording)

    def judge_row(self) -> None:
        """Each scope of the guide's row that no probe settled: judged from the scopes Bitbucket reported as
        granted; where it reported none, noted as not verified (never a failure)."""
        for scope in self.row:
            if scope in self.judged:
                continue
            held = self.satisfied(scope)
            if held is None and self.halted:
                continue  # the probes stopped early: their own check says why
            self.judged.add(scope)
            name = scope.removeprefix("read:").removesuffix(":bitbucket") + "_scope"  # e.g. pullrequest_scope
            if held is True:
                self.add(name, Outcome.OK, f"{describe(scope)} granted (from the scopes Bitbucket reported).")
            elif held is False:
                message = (
                    f"{self.subject} lacks {describe(scope)} (from the scopes Bitbucket reported as granted; "
                    "not probed)."
                )
                self.add(name, Outcome.MISSING_SCOPE, message, missing=[scope])
            else:
                self.add(name, Outcome.NOT_VERIFIABLE,
                         f"{describe(scope)}, which StackGuardian's guide asks of {self.a_guide_name}, not verified: "
                         "Bitbucket did not report the credential's scopes and no probe needs it.")

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

