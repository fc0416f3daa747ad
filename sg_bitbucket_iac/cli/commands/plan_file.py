"""`plan -f FILE --out PLAN.json` / `apply PLAN.json`: review a plan in CI, then apply exactly it.

The file holds no secret: each connector's changes (secrets as `(sensitive)`), the credential
fingerprint the plan was made with (keyed or salted-slow, see secrets/fingerprints.py; the same one kept
in ContextTags and state),
the `ModifiedAt` StackGuardian showed, and a digest of the non-secret declarations. `apply
PLAN.json` loads the definitions again (references are resolved again), plans again, and refuses
when anything differs: the definitions changed, a secret reference now gives another credential,
or a connector was written since. Otherwise it applies the fresh plan, which equals the saved one.

A plan file is input like any other: it is read only if it is a regular file of at most
:data:`MAX_PLAN_BYTES` (a FIFO, ``/dev/zero`` or a huge file is refused before a byte is parsed, see
:mod:`sg_bitbucket_iac.local_files`), and its whole structure is checked (:class:`SavedPlan`, strict
types, no unknown key) before anything is sent; a malformed plan names what is wrong, and nothing is
written. Saving writes a new file beside the target and renames it over, so a link already at the
target is replaced, never written through.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)

from ... import __version__
from ...engine import Action
from ...errors import Problem, ProblemsError, StalePlanError, UsageError
from ...identifiers import Identifier
from ...local_files import FileRefused, read_regular_file
from ...problems import join_path
from ...tags import SET_NAME_PATTERN

if TYPE_CHECKING:
    from .plan_apply import PlanRun

PlanFormat = Literal["sg-bitbucket-plan/1"]
PLAN_FORMAT: PlanFormat = "sg-bitbucket-plan/1"
# A saved plan costs under 3 KiB per connector even when every field is at its limit and changes
# (tests/cli/test_plan_file.py measures it), so 64 MiB holds the plan of over 20,000 connectors, more
# than an org holds, and stops anything else before it is parsed.
MAX_PLAN_BYTES = 64 * 1024 * 1024
PLAN_BYTES_PER_CONNECTOR = 3 * 1024
_HINT = "make one with `sg-bitbucket plan -f FILE --out PLAN.json`, or apply with -f FILE"


def _identifier(kind: Identifier) -> AfterValidator:
    """A plan file is input like any other: each org name and connector Id in it is checked by its kind's
    rule (identifiers.py) before anything in the plan is believed, and a hand-edited one is refused."""

    def check(value: str) -> str:
        message = kind.message(value)
        if message is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


ConnectorId = Annotated[str, _identifier(Identifier.CONNECTOR_ID)]
OrgName = Annotated[str, _identifier(Identifier.ORG)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)


class SavedChange(_Strict):
    """One field's planned change, as the plan showed it (secrets only as `(sensitive)`)."""

    field: str
    before: JsonValue
    after: JsonValue
    sensitive: bool
    note: str = ""


class SavedConnector(_Strict):
    """One connector's plan, with what it was made from (the credential fingerprint, the ModifiedAt seen)."""

    path: str | None
    action: Action
    connector_id: ConnectorId
    name: str
    changes: list[SavedChange]
    sends_credentials: bool
    full_credential_replacement: bool
    replace_reason: str = ""
    adopt: bool = False
    warnings: list[str]
    fingerprint: str | None
    observed_modified_at: AwareDatetime | None

    def comparable(self) -> dict[str, object]:
        """What must be equal for the saved plan of this connector to still hold (warnings may reword)."""
        return self.model_dump(exclude={"warnings"})


class SavedPlan(_Strict):
    """A plan file, checked whole before anything in it is believed."""

    format: PlanFormat
    tool_version: str
    org: OrgName
    file: str = Field(min_length=1)
    names: list[str]
    # The file's set (`default` when it names none); a plan saved before sets existed has none, so it is stale.
    set: str | None = Field(default=None, pattern=SET_NAME_PATTERN)
    prune: bool
    resend_credentials: bool
    declarations_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    connectors: list[SavedConnector]
    managed_not_declared: list[ConnectorId]

    @model_validator(mode="after")
    def _one_entry_per_connector(self) -> SavedPlan:
        ids = [c.connector_id for c in self.connectors]
        if len(set(ids)) != len(ids):
            raise ValueError("a connector is planned twice")
        return self


def declarations_digest(run: PlanRun) -> str:
    """SHA-256 over the declarations without their secrets (a bare hash of a secret is never made)."""
    entries = []
    for declared in run.definitions.connectors:
        data = declared.connector.model_dump(mode="json", exclude={"auth": {declared.connector.auth_type.secret_field}})
        entries.append({"path": declared.path, "connector": data, "preflight": declared.preflight,
                        "adopt": declared.adopt})
    text = json.dumps({"org": run.org, "set": run.definitions.cli_set, "prune": run.prune, "connectors": entries},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _connector_record(run: PlanRun, index: int) -> SavedConnector:
    item = run.planned[index]
    observed = item.observed
    return SavedConnector.model_validate({
        **item.to_dict(),
        "warnings": [str(w) for w in item.plan.warnings],
        "fingerprint": item.connector.credential_fingerprint(run.org) if item.connector is not None else None,
        "observed_modified_at": observed.modified_at if observed else None,
    }, strict=False)


def plan_document(run: PlanRun, *, names: Sequence[str], resend_credentials: bool) -> SavedPlan:
    return SavedPlan(
        format=PLAN_FORMAT,
        tool_version=__version__,
        org=run.org,
        file=str(Path(run.definitions.source).resolve()),
        names=list(names),
        set=run.definitions.cli_set,
        prune=run.prune,
        resend_credentials=resend_credentials,
        declarations_digest=declarations_digest(run),
        connectors=[_connector_record(run, i) for i in range(len(run.planned))],
        managed_not_declared=[o.id for o in run.unpruned],
    )


def save(path: str, plan: SavedPlan) -> None:
    """Write the plan beside ``path`` under a fresh name, then rename it over ``path`` (atomic; a link
    already at ``path`` is replaced, not followed)."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    text = plan.model_dump_json(indent=2, exclude_defaults=True) + "\n"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise UsageError(f"cannot write the plan to {path}: {error.strerror or type(error).__name__}",
                         hint="give --out a file path in a folder you can write to") from None


def load(path: str) -> SavedPlan:
    """The plan saved at ``path``, or a UsageError saying what is wrong with it (nothing is sent)."""
    try:
        raw = read_regular_file(path, MAX_PLAN_BYTES)
    except FileRefused as refused:
        if refused.missing:
            raise UsageError(f"no plan file {path}", hint=_HINT) from None
        if refused.too_large:
            size = f"{refused.size} bytes, more than the" if refused.size is not None else "more than the"
            raise UsageError(f"{path} is not a plan file: it has {size} {MAX_PLAN_BYTES} bytes a saved plan may "
                             "have", hint=_HINT) from None
        raise UsageError(f"{path} is not a plan file: it {refused.reason}", hint=_HINT) from None
    try:
        return SavedPlan.model_validate_json(raw, strict=True)
    except ValidationError as error:
        raise ProblemsError(_problems(error), f"{path} is not a plan file of this tool ({PLAN_FORMAT}); nothing was "
                            f"written; {_HINT}") from None


def _problems(error: ValidationError) -> list[Problem]:
    """Each problem by its path (`connectors[0].action`), never echoing a value."""
    found = error.errors(include_input=False, include_url=False, include_context=False)
    return [Problem(join_path("", err["loc"]), err["msg"].removeprefix("Value error, "), "saved_plan")
            for err in found]


def differences(saved: SavedPlan, fresh: SavedPlan) -> list[str]:
    """Why the saved plan is stale (empty: it is exactly what applying now would do)."""
    reasons: list[str] = []
    if saved.org != fresh.org:
        reasons.append(f"the org changed ({saved.org} -> {fresh.org})")
    if saved.set != fresh.set:
        reasons.append(f"the file's set changed ({saved.set} -> {fresh.set})")
    if saved.declarations_digest != fresh.declarations_digest:
        reasons.append(f"the definitions in {saved.file} changed since the plan was made")
    before = {c.connector_id: c for c in saved.connectors}
    after = {c.connector_id: c for c in fresh.connectors}
    for connector_id in sorted(set(before) | set(after)):
        old, new = before.get(connector_id), after.get(connector_id)
        if old is None or new is None:
            what = "not in the saved plan" if old is None else "no longer planned"
            reasons.append(f"connector {connector_id}: {what}")
            continue
        if old.fingerprint != new.fingerprint:
            reasons.append(f"connector {connector_id}: its secret reference now gives another credential")
        if old.observed_modified_at != new.observed_modified_at:
            reasons.append(f"connector {connector_id}: changed in StackGuardian since the plan "
                           f"(ModifiedAt {_shown(old.observed_modified_at)} -> {_shown(new.observed_modified_at)})")
        elif old.comparable() != new.comparable():
            reasons.append(f"connector {connector_id}: the plan for it is different now")
    if sorted(saved.managed_not_declared) != sorted(fresh.managed_not_declared):
        reasons.append("the connectors managed here but not declared changed")
    return reasons


def _shown(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "none"


def check_fresh(saved: SavedPlan, fresh: SavedPlan, path: str) -> None:
    reasons = differences(saved, fresh)
    if reasons:
        raise StalePlanError(f"refusing stale plan {path}: " + "; ".join(reasons) + "; nothing was written")
