"""The one mapping between Terraform attributes and the backend (expanders and flatteners).

Terraform sees a flat attribute set (`auth_type`, `username`, `access_token_scope`, ...); the
backend takes the nested declaration that :func:`~sg_bitbucket_iac.model.parse_connector`
validates (``{"name", "id", "workspace", "auth": {"type", ...}}``) and reports problems by path
(``auth.email``). Everything that translates between the two lives here, so the resource, the
data source and the tests agree on it. No rule is decided here: a field of another auth type,
a missing field, an app password after the cut-off are all the backend's verdicts, only
re-addressed to the attribute the user wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tf.types import Unknown
from tf.utils import Diagnostics

from ..engine import AppliedSnapshot
from ..errors import SGBitbucketError, scrub
from ..model import (
    ACCESS_SCOPE_TAG,
    CREDENTIAL_FIELDS,
    PROJECT_TAG,
    REPOSITORY_TAG,
    SECRET_FIELDS,
    AuthType,
    Connector,
    ConnectorValidationError,
    ObservedConnector,
    Problem,
    parse_connector,
)

State = dict[str, Any]
AttributePath = list[Any]  # tf.utils.AttributePath: attribute names, (index,) steps

# Terraform attribute -> top-level Connector field.
TOP_ATTRIBUTES: dict[str, str] = {
    "name": "name",
    "connector_id": "id",
    "description": "description",
    "tags": "tags",
    "workspace": "workspace",
}
# Terraform attribute -> auth field of the backend model (`auth.<field>`).
CREDENTIAL_ATTRIBUTES: dict[str, str] = {
    "username": "username",
    "email": "email",
    "api_token": "api_token",
    "access_token": "access_token",
    "access_token_scope": "scope",
    "repository": "repository",
    "project": "project",
    "app_password": "app_password",
}
FIELD_TO_ATTRIBUTE: dict[str, str] = {
    **{f: a for a, f in TOP_ATTRIBUTES.items()},
    **{f: a for a, f in CREDENTIAL_ATTRIBUTES.items()},
    "type": "auth_type",
    "auth": "auth_type",
}
SECRET_ATTRIBUTES = frozenset(a for a, f in CREDENTIAL_ATTRIBUTES.items() if f in SECRET_FIELDS)
# ContextTags where the backend keeps the access-token facts StackGuardian does not model.
_TAG_OF_FIELD = {"scope": ACCESS_SCOPE_TAG, "repository": REPOSITORY_TAG, "project": PROJECT_TAG}

RESOURCE_ATTRIBUTES = (
    "id", "connector_id", "name", "workspace", "description", "tags", "auth_type",
    *CREDENTIAL_ATTRIBUTES, "preflight", "authenticated", "modified_at", "credentials_fingerprint",
)


def is_unknown(value: Any) -> bool:
    """Unknown until apply: the value itself, or an element of a list (``tags = [aws_x.y.id]``)."""
    if value is Unknown:
        return True
    return isinstance(value, list) and any(item is Unknown for item in value)


# --------------------------------------------------------------------------- problems -> diagnostics
_INDEX_RE = re.compile(r"\[(\d+)\]")
_AUTH_FIELD_RE = re.compile(r"\bauth\.(\w+)")
_BACKTICK_RE = re.compile(r"`(\w+)`")
_TAKES_RE = re.compile(r"(takes )([\w, ]+)(\))")


def attribute_path(problem_path: str) -> AttributePath:
    """Problem path -> attribute path.

    `auth.email` -> ["email"], `auth.type` -> ["auth_type"], `id` -> ["connector_id"],
    `tags[1]` -> ["tags", (1,)].
    """
    if not problem_path:
        return []
    head, _, rest = problem_path.partition(".")
    name = head
    if head == "auth":
        name = rest.split(".", 1)[0] if rest else "auth"
    index = _INDEX_RE.search(name)
    base = _INDEX_RE.sub("", name)
    attribute = FIELD_TO_ATTRIBUTE.get(base, base)
    return [attribute, (int(index.group(1)),)] if index else [attribute]


def _attribute_word(word: str) -> str:
    return FIELD_TO_ATTRIBUTE.get(word, word)


def translate_message(message: str) -> str:
    """The backend speaks YAML paths (`auth.email`, `scope`); say the Terraform attribute instead."""
    text = _AUTH_FIELD_RE.sub(lambda m: _attribute_word(m.group(1)), message)
    text = _BACKTICK_RE.sub(lambda m: f"`{_attribute_word(m.group(1))}`", text)
    return _TAKES_RE.sub(
        lambda m: m.group(1) + ", ".join(_attribute_word(w.strip()) for w in m.group(2).split(",")) + m.group(3),
        text,
    )


def report_problems(diags: Diagnostics, problems: Iterable[Problem], skip: Iterable[str] = ()) -> int:
    """Add one error per problem at its attribute; problems about attributes in `skip` are left out."""
    skipped = set(skip)
    count = 0
    for problem in problems:
        path = attribute_path(problem.path)
        if path and path[0] in skipped:
            continue
        where = path[0] if path else "connector"
        detail = translate_message(problem.message)
        if problem.rule == "app_password_unsupported":
            detail += "\n\n" + TERRAFORM_MIGRATION_HINT
        diags.add_error(f"Invalid {where}", detail, path=path or None)
        count += 1
    return count


_PATH_PREFIX_RE = re.compile(r"^(?P<path>auth(?:\.\w+)?|\w+(?:\[\d+\])?): ")
# Said to Terraform users next to the backend's (CLI-worded) app-password messages.
TERRAFORM_MIGRATION_HINT = (
    "In Terraform, migrate in place: set auth_type = \"api_token\" (username, email, api_token) or "
    "\"access_token\" (access_token and repository/project), drop app_password, and apply; the connector "
    "keeps its Id."
)


def report_warning(diags: Diagnostics, text: str, summary: str = "StackGuardian connector") -> None:
    """A backend warning, at its attribute when it names one (`auth.type: app passwords are ...`)."""
    match = _PATH_PREFIX_RE.match(text)
    if match and _INDEX_RE.sub("", match.group("path").split(".")[0]) not in FIELD_TO_ATTRIBUTE:
        match = None
    path = attribute_path(match.group("path")) if match else []
    body = translate_message(text[match.end():] if match else text)
    if match:  # "app passwords are deprecated: ...; plan to ..." -> "App passwords are deprecated"
        first = re.split(r"[;:(]", body, maxsplit=1)[0].strip()
        summary = (first[:1].upper() + first[1:])[:80] or summary
    if "app password" in body and "migrate" in body:
        body += "\n\n" + TERRAFORM_MIGRATION_HINT
    diags.add_warning(summary, body, path=path or None)


def report_error(diags: Diagnostics, summary: str, exc: BaseException, secrets: Iterable[Any] = ()) -> None:
    """A backend failure as one diagnostic; the text is scrubbed of every secret we hold, to be sure."""
    # Anything else is a bug or an unexpected library error: say what it was.
    detail = str(exc) if isinstance(exc, SGBitbucketError) else f"{type(exc).__name__}: {exc}"
    diags.add_error(summary, scrub(detail, [s for s in secrets if isinstance(s, str)]))


def secrets_of(values: Mapping[str, Any]) -> list[str]:
    return [v for a in SECRET_ATTRIBUTES if isinstance(v := values.get(a), str) and v]


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
    data: dict[str, Any] = {}
    for attribute, field in TOP_ATTRIBUTES.items():
        value = values.get(attribute)
        if value is not None and attribute not in unknown:
            data[field] = list(value) if attribute == "tags" else value
    auth_type = values.get("auth_type")
    if auth_type is not None and "auth_type" not in unknown:
        auth: dict[str, Any] = {"type": auth_type}
        for attribute, field in CREDENTIAL_ATTRIBUTES.items():
            value = values.get(attribute)
            if attribute in unknown and attribute in SECRET_ATTRIBUTES:
                auth[field] = UNKNOWN_SECRET_PLACEHOLDER
            elif value is not None and attribute not in unknown:
                auth[field] = value
        data["auth"] = auth
    return data, unknown


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
        connector = parse_connector(data)
    except ConnectorValidationError as exc:
        report_problems(diags, exc.problems, skip=unknown)
        return Parsed(None, False)
    relevant = unknown & {*TOP_ATTRIBUTES, *CREDENTIAL_ATTRIBUTES, "auth_type"}
    if relevant - SECRET_ATTRIBUTES:
        return Parsed(None, False)
    return Parsed(connector, not relevant)


def effective_scope(connector: Connector) -> str | None:
    """What `access_token_scope` holds: the scope the backend settled on (it infers an unset one)."""
    return getattr(connector.auth, "scope", None)


def snapshot_from_state(state: Mapping[str, Any], org: str) -> AppliedSnapshot | None:
    """The backend's "what was last applied", rebuilt from Terraform state (which is where we keep it)."""
    return AppliedSnapshot.from_dict({
        "connector_id": state.get("id") or state.get("connector_id"),
        "org": org,
        "name": state.get("name"),
        "description": state.get("description"),
        "tags": state.get("tags"),
        "workspace": state.get("workspace"),
        "auth_type": state.get("auth_type"),
        **{field: state.get(attr) for attr, field in CREDENTIAL_ATTRIBUTES.items() if field not in SECRET_FIELDS},
        "fingerprint": state.get("credentials_fingerprint"),
    })


# --------------------------------------------------------------------------- backend -> attributes
def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds (what StackGuardian's epoch-ms timestamps carry)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _empty_like(prior: Any, observed: Any) -> Any:
    """StackGuardian has no "unset": "" and [] come back for an unset description or tag list.

    An empty observed value keeps the prior state's own spelling of "empty" (null, "" or []), so a
    config that leaves it out, or sets it empty, plans clean either way.
    """
    if observed:
        return observed
    return prior if prior in ("", []) else None


def refreshed_state(current: Mapping[str, Any], observed: ObservedConnector) -> State:
    """State after a refresh: what StackGuardian shows, plus what it cannot show (secrets) from state.

    Credential attributes that do not belong to the observed auth type become null, so an
    auth-type change made outside Terraform shows as drift of every credential attribute.
    """
    state: State = {name: current.get(name) for name in RESOURCE_ATTRIBUTES}
    state["id"] = observed.id
    state["connector_id"] = observed.id
    state["name"] = observed.name
    state["description"] = _empty_like(current.get("description"), observed.description)
    state["tags"] = _empty_like(current.get("tags"), list(observed.tags))
    state["workspace"] = observed.workspace or current.get("workspace")
    if observed.auth_type is not None:
        same_type = current.get("auth_type") == observed.auth_type.value
        fields = CREDENTIAL_FIELDS[observed.auth_type]
        state["auth_type"] = observed.auth_type.value
        for attribute, field in CREDENTIAL_ATTRIBUTES.items():
            kept = current.get(attribute) if same_type else None
            if field not in fields:
                state[attribute] = None
            elif field == "email":
                state[attribute] = observed.email
            elif field == "username":
                state[attribute] = observed.username or kept
            elif field in SECRET_FIELDS:
                state[attribute] = kept  # masked by the API: only we know what we sent
            else:
                state[attribute] = observed.context_tags.get(_TAG_OF_FIELD[field], kept)
        if not same_type:
            state["credentials_fingerprint"] = None
    state["authenticated"] = observed.authenticated
    state["modified_at"] = iso(observed.modified_at)
    return state


def imported_state(observed: ObservedConnector) -> State:
    """State for `terraform import`: everything StackGuardian shows, secrets null until the next apply."""
    return refreshed_state(dict.fromkeys(RESOURCE_ATTRIBUTES), observed)


def data_source_state(observed: ObservedConnector) -> State:
    """Non-secret attributes only: the data source never holds a credential."""
    state = imported_state(observed)
    for attribute in (*SECRET_ATTRIBUTES, "preflight", "credentials_fingerprint"):
        state.pop(attribute, None)
    return state


def auth_type_of(value: Any) -> AuthType | None:
    try:
        return AuthType(value) if isinstance(value, str) else None
    except ValueError:
        return None
