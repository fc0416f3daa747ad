"""Terraform's side of the flat state: unknown values and diagnostics.

The mapping itself (flat keys <-> declaration, snapshot, refreshed state, problem paths) is
:mod:`sg_bitbucket_iac.flatstate`, shared with Pulumi. No rule is decided here: problems and
warnings are the backend's verdicts, already worded for Terraform (its table in wording.py),
re-addressed to the attribute the user wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tf.types import Unknown
from tf.utils import Diagnostics

from ..engine import INTERRUPTED_CREATE_NOTE
from ..engine.precheck import (
    APP_PASSWORD_DEPRECATED,
    PREFLIGHT_FAILED,
    PREFLIGHT_INCONCLUSIVE,
    PREFLIGHT_WARNING,
    Notice,
)
from ..errors import ConnectorValidationError, Problem, SGBitbucketError
from ..flatstate import (
    CREDENTIAL_KEYS,
    DESCRIPTIVE_KEYS,
    SECRET_KEYS,
    declaration,
    key_of_path,
    refreshed,
)
from ..identifiers import Identifier
from ..model import AuthType, Connector, parse_connector
from ..redact import scrub_text
from ..wire import ObservedConnector
from ..wording import TERRAFORM_WORDING

State = dict[str, Any]
AttributePath = list[Any]  # tf.utils.AttributePath: attribute names, (index,) steps

RESOURCE_ATTRIBUTES = (
    "id", *DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS, "preflight", "authenticated", "modified_at", "credentials_fingerprint",
    "owner",
    "org",
)


def is_unknown(value: Any) -> bool:
    """Unknown until apply: the value itself, or an element of a list (``tags = [aws_x.y.id]``)."""
    if value is Unknown:
        return True
    return isinstance(value, list) and any(item is Unknown for item in value)


# --------------------------------------------------------------------------- problems -> diagnostics
def attribute_path(problem_path: str) -> AttributePath:
    """Problem path -> attribute path: `auth.email` -> ["email"], `tags[1]` -> ["tags", (1,)]."""
    key, index = key_of_path(problem_path)
    if not key:
        return []
    return [key, (index,)] if index is not None else [key]


def report_problems(diags: Diagnostics, problems: Iterable[Problem], skip: Iterable[str] = ()) -> int:
    """Add one error per problem at its attribute; problems about attributes in `skip` are left out."""
    skipped = set(skip)
    count = 0
    for problem in problems:
        path = attribute_path(problem.path)
        if path and path[0] in skipped:
            continue
        where = path[0] if path else "connector"
        diags.add_error(_PROBLEM_SUMMARIES.get(problem.rule, f"Invalid {where}"), problem.message, path=path or None)
        count += 1
    return count


_WARNING_SUMMARIES = {
    INTERRUPTED_CREATE_NOTE: "Connector created by this configuration",
    APP_PASSWORD_DEPRECATED: "App passwords are deprecated",
    PREFLIGHT_INCONCLUSIVE: "Credential preflight inconclusive",
    PREFLIGHT_WARNING: "Credential preflight",
}
_PROBLEM_SUMMARIES = {PREFLIGHT_FAILED: "Credential preflight failed"}


def report_warning(diags: Diagnostics, warning: Notice) -> None:
    """A backend warning at its attribute, titled by its rule."""
    summary = _WARNING_SUMMARIES.get(warning.rule, "StackGuardian connector")
    diags.add_warning(summary, warning.text, path=attribute_path(warning.path) or None)


def report_error(diags: Diagnostics, summary: str, exc: BaseException, secrets: Iterable[Any] = ()) -> None:
    """A backend failure as one diagnostic; the text is scrubbed of every secret we hold, to be sure."""
    # Anything else is a bug or an unexpected library error: say what it was.
    detail = str(exc) if isinstance(exc, SGBitbucketError) else f"{type(exc).__name__}: {exc}"
    diags.add_error(summary, scrub_text(detail, [s for s in secrets if isinstance(s, str)]))


def checked_identifier(diags: Diagnostics, kind: Identifier, value: Any, summary: str,
                       attribute: str | None) -> str | None:
    """``value`` when it may go into a URL path; else None and an error at ``attribute`` (None: no attribute,
    as for an import Id), so that no request is sent and a read keeps the resource in state."""
    message = kind.message(value)
    if message is None:
        return str(value)
    diags.add_error(summary, message, path=[attribute] if attribute else None)
    return None


def secrets_of(values: Mapping[str, Any]) -> list[str]:
    return [v for a in SECRET_KEYS if isinstance(v := values.get(a), str) and v]


# --------------------------------------------------------------------------- attributes -> backend
# Stands in for a secret that is unknown until apply, so everything else (required fields, the
# app-password date policy) can still be checked at plan. Never sent anywhere: a Parsed with a
# placeholder is not `complete`, and only complete ones reach the Engine.
UNKNOWN_SECRET_PLACEHOLDER = "unknown-until-apply"


def connector_input(values: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The parse_connector input for known, non-null attributes, and the names of unknown ones.

    Unknown secrets are given a placeholder (see above); other unknown values are left out.
    """
    unknown = {name for name, value in values.items() if is_unknown(value)}
    return declaration(values, unknown=unknown, secret_placeholder=UNKNOWN_SECRET_PLACEHOLDER), unknown


@dataclass(frozen=True)
class Parsed:
    """The backend's verdict on the attributes.

    `connector` is set when everything known is valid and only secrets (if anything) are unknown:
    enough for date policy checks. `complete` says every value is known and real: only then may
    it be planned against StackGuardian, fingerprinted, preflighted or applied.
    """

    connector: Connector | None
    complete: bool


def parse(values: Mapping[str, Any], diags: Diagnostics) -> Parsed:
    """Validate attributes through the backend; problems become diagnostics at their attribute."""
    data, unknown = connector_input(values)
    try:
        connector = parse_connector(data, names=TERRAFORM_WORDING.field_names)
    except ConnectorValidationError as exc:
        report_problems(diags, exc.problems, skip=unknown)
        return Parsed(None, False)
    relevant = unknown & {*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS}
    if relevant - set(SECRET_KEYS):
        return Parsed(None, False)
    return Parsed(connector, not relevant)


def effective_scope(connector: Connector) -> str | None:
    """What `access_token_scope` holds: the scope the backend settled on (it infers an unset one)."""
    return getattr(connector.auth, "scope", None)


# --------------------------------------------------------------------------- backend -> attributes
def refreshed_state(current: Mapping[str, Any], observed: ObservedConnector) -> State:
    """State after a refresh: what StackGuardian shows, plus what it cannot show (secrets) from state."""
    state: State = {name: current.get(name) for name in RESOURCE_ATTRIBUTES}
    state.update({k: v for k, v in refreshed(observed, current).items() if k in state})
    state["id"] = observed.id
    state["owner"] = observed.owner.value if observed.owner is not None else None
    return state


def imported_state(observed: ObservedConnector) -> State:
    """State for `terraform import`: everything StackGuardian shows, secrets null until the next apply."""
    return refreshed_state(dict.fromkeys(RESOURCE_ATTRIBUTES), observed)


def data_source_state(observed: ObservedConnector) -> State:
    """Non-secret attributes only: the data source never holds a credential."""
    state = imported_state(observed)
    for attribute in (*SECRET_KEYS, "preflight", "credentials_fingerprint", "owner", "org"):
        state.pop(attribute, None)
    return state


def auth_type_of(value: Any) -> AuthType | None:
    try:
        return AuthType(value) if isinstance(value, str) else None
    except ValueError:
        return None
