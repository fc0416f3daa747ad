"""What a preflight found: one check per probe or local rule, and the verdict over them.

FAIL (a failing outcome) means "do not send these credentials"; INCONCLUSIVE (rate limit, outage)
means "Bitbucket could not be asked"; PASS may still carry warnings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..model import AuthType
from .scopes import describe


class PreflightStatus(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"


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


def status_of(checks: Iterable[PreflightCheck]) -> PreflightStatus:
    """The verdict over the checks: any failing outcome fails, else any unanswered one is inconclusive."""
    outcomes = {c.outcome for c in checks}
    if outcomes & FAILING_OUTCOMES:
        return PreflightStatus.FAIL
    if outcomes & INCONCLUSIVE_OUTCOMES:
        return PreflightStatus.INCONCLUSIVE
    return PreflightStatus.PASS


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

    @property
    def failed(self) -> bool:
        """Bitbucket refused the credential: do not send it."""
        return self.status is PreflightStatus.FAIL

    @property
    def inconclusive(self) -> bool:
        """Bitbucket could not be asked (rate limit, outage): the credential was not verified."""
        return self.status is PreflightStatus.INCONCLUSIVE

    def with_checks_first(self, checks: Sequence[PreflightCheck], warnings: Sequence[str]) -> PreflightResult:
        """This result with rules decided before any probe (the date, for an app password) in front."""
        every = (*checks, *self.checks)
        return replace(self, status=status_of(every), checks=every,
                       warnings=tuple(unique([*warnings, *self.warnings])))

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
            "missing_permissions": [describe(scope) for scope in self.missing_scopes],  # in the guide's words
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
            return f"{subject} was inconclusive: " + " ".join(unique(details))
        problems = [
            c.message for c in self.checks if c.outcome in FAILING_OUTCOMES and c.outcome is not Outcome.MISSING_SCOPE
        ]
        if self.missing_scopes:
            lacks = ", ".join(describe(scope) for scope in self.missing_scopes)
            problems.append(f"the credential lacks {lacks}; {self.fix}")
        return f"{subject} failed: " + " ".join(end_sentence(p) for p in unique(problems))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def end_sentence(text: str) -> str:
    return text if text.endswith((".", ")")) else text + "."
