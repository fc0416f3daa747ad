"""The pre-write check: the date policy (app-password timeline) and what a preflight result means.

FAIL is a problem on the secret field (nothing is written); INCONCLUSIVE is a warning (Bitbucket
could not be asked); a PASS's own warnings are passed on. Fronts only render the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .. import timeline
from ..model import AppPasswordAuth, Connector, Problem
from ..preflight.result import PreflightResult, PreflightStatus

# Rules of the warnings below; fronts choose their wording (summary, hint) by rule, never by prose.
APP_PASSWORD_DEPRECATED = "app_password_deprecated"
PREFLIGHT_FAILED = "preflight_failed"
PREFLIGHT_INCONCLUSIVE = "preflight_inconclusive"
PREFLIGHT_WARNING = "preflight_warning"
PLAN_NOTE = "plan"


class Notice(str):
    """A warning as a record (severity, rule, path, text) that is also its one-line text.

    Being a ``str`` ("path: text"), it goes into plans, JSON and logs as warnings always did.
    """

    severity: str
    rule: str
    path: str
    text: str

    def __new__(cls, rule: str, text: str, *, path: str = "", severity: str = "warning") -> Notice:
        notice = super().__new__(cls, f"{path}: {text}" if path else text)
        notice.severity, notice.rule, notice.path, notice.text = severity, rule, path, text
        return notice

    @property
    def from_preflight(self) -> bool:
        return self.rule in (PREFLIGHT_INCONCLUSIVE, PREFLIGHT_WARNING)


@dataclass(frozen=True)
class Precheck:
    """What may be written: problems (nothing is written), warnings, and the preflight result."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    preflight: PreflightResult | None = None

    @property
    def preflight_failed(self) -> bool:
        return any(p.rule == PREFLIGHT_FAILED for p in self.problems)


PolicyFindings = Precheck  # the policy half of a precheck


def check_policy(connector: Connector, *, at: datetime, path: str = "", creating: bool = True) -> Precheck:
    """Rules that depend on the date: app passwords follow the deprecation timeline."""
    if not isinstance(connector.auth, AppPasswordAuth):
        return Precheck()
    status = timeline.app_password_status(at)
    where = f"{path}.auth.type" if path else "auth.type"
    if not status.allowed:
        message = status.message.replace("<ID>", connector.connector_id)
        return Precheck([Problem(where, message, "app_password_unsupported")])
    warnings: list[Notice] = []
    if status.phase is timeline.AppPasswordPhase.DEPRECATED:
        text = status.message.replace("<ID>", connector.connector_id)
        if creating:
            text += "; Bitbucket no longer issues app passwords, so a new connector needs one that already exists"
        warnings.append(Notice(APP_PASSWORD_DEPRECATED, text, path=where))
    return Precheck([], warnings)


def same_credential(previous: Connector, connector: Connector) -> bool:
    """Whether two declarations carry the very same credential set for the same workspace."""
    return previous.auth == connector.auth and previous.workspace == connector.workspace


def judge_preflight(result: PreflightResult | None, connector: Connector, *, path: str = "") -> Precheck:
    """What a preflight result means for the write (None: preflight was not run)."""
    if result is None:
        return Precheck()
    problems: list[Problem] = []
    warnings: list[Notice] = []
    if result.status is PreflightStatus.FAIL:
        where = f"{path}.auth" if path else "auth"
        where += f".{connector.auth_type.secret_field}"
        problems.append(Problem(where, f"credential preflight failed: {result.summary()}", PREFLIGHT_FAILED))
    elif result.status is PreflightStatus.INCONCLUSIVE:
        warnings.append(Notice(PREFLIGHT_INCONCLUSIVE, "Bitbucket could not be asked (rate limit or outage); "
                               "credentials were not verified: " + result.summary()))
    warnings.extend(Notice(PREFLIGHT_WARNING, text) for text in result.warnings)
    return Precheck(problems, warnings, result)
