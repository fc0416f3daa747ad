"""The pre-write check: the date policy (app-password timeline) and what a preflight result means.

The app-password verdict is decided here and nowhere else (:func:`app_password_verdict`): before
a write it is a problem or a warning (:func:`check_policy`), for a credential checked on its own
it is the first check of the preflight (:func:`timeline_checks`), and drift and audit report it
from the same verdict. A preflight FAIL is a problem on the secret field (nothing is written);
INCONCLUSIVE is a warning (Bitbucket could not be asked); a PASS's own warnings are passed on.
Fronts only render the outcome, worded for them by the :class:`~sg_bitbucket_iac.wording.FrontWording`
they hand in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .. import timeline
from ..errors import Problem
from ..model import AuthType, Connector
from ..preflight.result import Outcome, PreflightCheck, PreflightResult, PreflightStatus, end_sentence
from ..wording import CLI_WORDING, FrontWording

# Rules of the warnings below; fronts choose their wording (summary, hint) by rule, never by prose.
APP_PASSWORD_DEPRECATED = "app_password_deprecated"
APP_PASSWORD_UNSUPPORTED = "app_password_unsupported"
PREFLIGHT_FAILED = "preflight_failed"
PREFLIGHT_INCONCLUSIVE = "preflight_inconclusive"
PREFLIGHT_WARNING = "preflight_warning"
PLAN_NOTE = "plan"
TIMELINE_CHECK = "app_password_timeline"


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

    @property
    def preflight_inconclusive(self) -> bool:
        """Bitbucket could not be asked, so the credential was not verified (a warning, not a problem)."""
        return any(w.rule == PREFLIGHT_INCONCLUSIVE for w in self.warnings)


# --------------------------------------------------------------------------- the app-password timeline
@dataclass(frozen=True)
class AppPasswordVerdict:
    """What the date means for an app password: refused, or allowed with the warnings to give."""

    status: timeline.AppPasswordStatus
    message: str  # the dates that apply and what to do, in the front's words
    creating: bool  # for a connector that does not exist yet: it needs a password that already exists

    @property
    def refused(self) -> bool:
        return not self.status.allowed

    @property
    def needs_action(self) -> bool:
        return self.status.needs_action

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.refused or not self.needs_action:
            return ()
        return (self.message, timeline.NEW_APP_PASSWORD_WARNING) if self.creating else (self.message,)


def app_password_verdict(
    auth_type: AuthType | None, at: datetime, *, creating: bool, how_to_migrate: str
) -> AppPasswordVerdict | None:
    """The verdict for a credential of ``auth_type`` on ``at`` (None: not an app password).

    ``creating``: for a connector that does not exist yet (Bitbucket no longer issues app
    passwords). ``how_to_migrate``: the front's migration advice.
    """
    if auth_type is not AuthType.APP_PASSWORD:
        return None
    status = timeline.app_password_status(at)
    return AppPasswordVerdict(status, status.message(how_to_migrate), creating)


def check_policy(
    connector: Connector, *, at: datetime, path: str = "", creating: bool = True, writes_credential: bool = True,
    wording: FrontWording = CLI_WORDING,
) -> Precheck:
    """Rules that depend on the date: app passwords follow the deprecation timeline.

    They govern writing a credential: a create, or a credential sent to an existing connector. A
    connector whose credential is not written now (an unchanged one, a rename, a destroy) is only
    warned about, so a declared legacy connector never blocks the rest of a run; drift and audit
    report it until it is migrated.
    """
    verdict = app_password_verdict(connector.auth_type, at, creating=creating,
                                   how_to_migrate=wording.how_to_migrate(connector.connector_id))
    if verdict is None:
        return Precheck()
    where = f"{path}.auth.type" if path else "auth.type"
    if verdict.refused:
        if creating or writes_credential:
            return Precheck([Problem(where, verdict.message, APP_PASSWORD_UNSUPPORTED)])
        return Precheck([], [Notice(APP_PASSWORD_UNSUPPORTED, end_sentence(verdict.message), path=where)])
    if not verdict.warnings:
        return Precheck()
    text = " ".join(end_sentence(warning) for warning in verdict.warnings)
    return Precheck([], [Notice(APP_PASSWORD_DEPRECATED, text, path=where)])


def timeline_checks(verdict: AppPasswordVerdict | None) -> list[PreflightCheck]:
    """The verdict as the first checks of a preflight of the credential on its own."""
    if verdict is None:
        return []
    if verdict.refused:
        return [PreflightCheck(TIMELINE_CHECK, None, None, Outcome.UNSUPPORTED, verdict.message)]
    if not verdict.needs_action:
        return [PreflightCheck(TIMELINE_CHECK, None, None, Outcome.OK, verdict.message + ".")]
    checks = [PreflightCheck(TIMELINE_CHECK, None, None, Outcome.WARNING, verdict.message)]
    if verdict.creating:
        checks.append(PreflightCheck("app_password_new_connector", None, None, Outcome.WARNING,
                                     timeline.NEW_APP_PASSWORD_WARNING))
    return checks


def refused_preflight(auth_type: AuthType, workspace: str, verdict: AppPasswordVerdict) -> PreflightResult:
    """The preflight of a credential the date refuses: FAIL, and nothing sent to Bitbucket."""
    return PreflightResult(PreflightStatus.FAIL, auth_type, workspace, None, None, tuple(timeline_checks(verdict)),
                           (), (), 0)


# --------------------------------------------------------------------------- preflight
def same_credential(previous: Connector, connector: Connector) -> bool:
    """Whether two declarations carry the very same credential set for the same workspace."""
    return previous.auth == connector.auth and previous.workspace == connector.workspace


def judge_preflight(result: PreflightResult | None, connector: Connector, *, path: str = "") -> Precheck:
    """What a preflight result means for the write (None: preflight was not run)."""
    if result is None:
        return Precheck()
    problems: list[Problem] = []
    warnings: list[Notice] = []
    if result.failed:
        where = f"{path}.auth" if path else "auth"
        where += f".{connector.auth_type.secret_field}"
        problems.append(Problem(where, f"credential preflight failed: {result.summary()}", PREFLIGHT_FAILED))
    elif result.inconclusive:
        warnings.append(Notice(PREFLIGHT_INCONCLUSIVE, "Bitbucket could not be asked (rate limit or outage); "
                               "credentials were not verified: " + result.summary()))
    warnings.extend(Notice(PREFLIGHT_WARNING, text) for text in result.warnings)
    return Precheck(problems, warnings, result)
