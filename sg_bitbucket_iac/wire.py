"""StackGuardian's connector records <-> this tool's types: the one place that knows the wire format.

Outgoing: the create body (``Integration``) and the PATCH body, whose ``Settings`` name every other
auth type's keys with an explicit null, so nothing of an old credential set survives an auth-type
switch. Incoming: a ``ConnectorRecord`` (a listall item unwrapped) read field by field into an
:class:`ObservedConnector`, secrets reduced to "present or not" on the spot, the auth type inferred
where the record does not say it. And the checks that compare a record with what was sent: is a
connector found after a failed create ours and as declared, does a PATCH answer show our write.
Transport, retries and status codes are :mod:`sg_bitbucket_iac.stackguardian`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import OddRecordError, Problem
from .identifiers import Identifier
from .model import AUTH_CLASSES, AnyAuth, AuthType, Connector
from .redact import escape_control, shorten
from .secrets import Secret
from .tags import LAST_WRITE_TAG, Front, fingerprint_of, owner_of, set_of, workspace_of

KIND = "BITBUCKET_ORG"
AUTH_TYPE_KEY = "bitbucketAuthType"
# Every credential key of every auth type, and those StackGuardian masks on read.
CREDENTIAL_KEYS = tuple(dict.fromkeys(key for c in AUTH_CLASSES for key in c.wire_keys))
WIRE_SECRET_KEYS = frozenset(c.wire_secret_key for c in AUTH_CLASSES)
# Epoch milliseconds a datetime can hold (years 1 to 9999): anything outside is not a time.
_MIN_EPOCH_MS = -62_135_596_800_000
_MAX_EPOCH_MS = 253_402_300_799_999


# --------------------------------------------------------------------------- outgoing
def settings_payload(auth: AnyAuth) -> dict[str, Any]:
    return {"kind": KIND, "config": [auth.wire_config()]}


def patch_settings_payload(auth: AnyAuth) -> dict[str, Any]:
    """`Settings` for a PATCH: the new credential set plus an explicit null for every other type's key.

    Nothing of the old auth type may survive, whether the server replaces `Settings` whole or
    merges `config[0]` key by key (PatchedIntegration fields take null to clear, sg-sdk-go).
    """
    config = auth.wire_config()
    config.update({key: None for key in CREDENTIAL_KEYS if key not in config})
    return {"kind": KIND, "config": [config]}


def to_create_payload(connector: Connector, context_tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `Integration` body for POST /integrations/."""
    return {
        "Id": connector.connector_id,
        "ResourceName": connector.name,
        "Description": connector.description,
        "Tags": list(connector.tags),
        "ContextTags": dict(context_tags or {}),
        "Settings": settings_payload(connector.auth),
    }


def to_update_payload(
    connector: Connector, context_tags: Mapping[str, str], *, send_credentials: bool
) -> dict[str, Any]:
    """The PATCH body: every descriptive field, and the whole credential set only when it is sent."""
    patch: dict[str, Any] = {
        "ResourceName": connector.name,
        "Description": connector.description,
        "Tags": list(connector.tags),
        "ContextTags": dict(context_tags),
    }
    if send_credentials:
        patch["Settings"] = patch_settings_payload(connector.auth)
    return patch


def wire_json_default(value: Any) -> Any:
    """`json.dumps(default=...)` hook that reveals wrapped secrets: used only for request bodies."""
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"cannot encode {type(value).__name__}")


# --------------------------------------------------------------------------- incoming
@dataclass(frozen=True)
class ObservedConnector:
    """A Bitbucket connector as StackGuardian reports it (secrets masked or absent)."""

    id: str
    name: str
    description: str
    tags: tuple[str, ...]
    context_tags: dict[str, str]
    kind: str
    auth_type: AuthType | None
    email: str | None
    username: str | None
    has_secret: bool
    authenticated: bool | None
    authenticated_at: datetime | None
    created_at: datetime | None
    modified_at: datetime | None

    @property
    def owner(self) -> Front | None:
        """The front that owns it (see :mod:`.ownership`), or None."""
        return owner_of(self.context_tags)

    @property
    def managed(self) -> bool:
        """Owned by the CLI (so the CLI prunes it and reports it as undeclared)."""
        return self.owner is Front.CLI

    @property
    def cli_set(self) -> str | None:
        """The CLI set it belongs to (the definitions file's ``set:``); None unless the CLI owns it."""
        return set_of(self.context_tags)

    @property
    def fingerprint(self) -> str | None:
        return fingerprint_of(self.context_tags)

    @property
    def workspace(self) -> str | None:
        return workspace_of(self.context_tags)

    @property
    def is_bitbucket(self) -> bool:
        return self.kind == KIND

    def shown_credential(self) -> dict[str, str | None]:
        """Its non-secret credential fields as far as StackGuardian and our ContextTags show them."""
        return self.auth_type.auth_class.shown_fields(self) if self.auth_type is not None else {}


def unwrap_list_item(item: Any) -> dict[str, Any]:
    """listall items are flat records, or `{"msg": record}` as sg-sdk-go types them; accept both."""
    if isinstance(item, dict) and isinstance(item.get("msg"), dict) and "Id" not in item:
        return item["msg"]
    return item if isinstance(item, dict) else {}


def record_kind(record: Mapping[str, Any]) -> str | None:
    """The connector kind a record's Settings name (what listall's ``kind`` filter matches)."""
    settings = record.get("Settings")
    kind = settings.get("kind") if isinstance(settings, Mapping) else None
    return kind if isinstance(kind, str) else None


class _RecordReader:
    """Reads one ConnectorRecord field by field, noting what is odd instead of raising at the first."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record
        self.problems: list[Problem] = []

    def odd(self, path: str, what: str) -> None:
        # A ContextTags key is the server's: never a raw escape sequence.
        self.problems.append(Problem(escape_control(path, keep=""), escape_control(what, keep=""), "unreadable_record"))

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.odd(path, f"is {_kind_of(value)}, not a mapping")
            return {}
        return value

    def text(self, value: Any, path: str) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.odd(path, f"is {_kind_of(value)}, not a string")
            return ""
        return str(value)

    def epoch_ms(self, value: Any, path: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.odd(path, f"is {_kind_of(value)}, not a time in epoch milliseconds")
            return None
        if value != value or not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:  # NaN or out of range
            self.odd(path, f"is {value:g}, not a time in epoch milliseconds (out of range)")
            return None
        return datetime.fromtimestamp(value / 1000, tz=UTC)


def _kind_of(value: Any) -> str:
    """A value's JSON type for messages (never the value: it may be a secret)."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def infer_auth_type(config: Mapping[str, Any]) -> AuthType | None:
    """bitbucketAuthType if present, else the server's assumed inference order (access token, email).

    Only records written before StackGuardian stored the auth type lack it; those hold one of these
    three types, so a new auth type never needs a place in the order.
    """
    declared = config.get(AUTH_TYPE_KEY)
    if isinstance(declared, str) and declared:
        try:
            return AuthType.from_wire(declared)
        except ValueError:
            return None
    if config.get("bitbucketAccessToken"):
        return AuthType.ACCESS_TOKEN
    if config.get("bitbucketEmail"):
        return AuthType.API_TOKEN
    if config.get("bitbucketCreds"):
        return AuthType.APP_PASSWORD
    return None


def _visible_username(creds: Any) -> str | None:
    if not isinstance(creds, str) or ":" not in creds:
        return None
    user, _, _secret = creds.partition(":")
    if not user or user.strip("*") == "":
        return None
    return user


def _first_config(settings: Any) -> Mapping[str, Any]:
    """`Settings.config[0]` where there is one (no questions asked: the record reader asks them)."""
    config = settings.get("config") if isinstance(settings, Mapping) else None
    first = config[0] if isinstance(config, list) and config else None
    return first if isinstance(first, Mapping) else {}


def observed_from_record(record: Mapping[str, Any]) -> ObservedConnector:
    """Parse a ConnectorRecord. Secret keys are reduced to 'present or not' on the spot.

    A record that is odd in any way (a field of the wrong type, a time out of range) raises
    :class:`~sg_bitbucket_iac.errors.OddRecordError` naming the connector and every odd field, and
    nothing else: an org scan reports it and goes on with the other connectors.
    """
    if not isinstance(record, Mapping):
        raise OddRecordError("", [Problem("", f"the record is {_kind_of(record)}, not a mapping", "unreadable_record")])
    read = _RecordReader(record)
    connector_id = read.text(record.get("Id"), "Id") or read.text(record.get("ResourceName"), "ResourceName")
    refused = Identifier.CONNECTOR_ID.why_refused(connector_id)
    if refused is not None:
        # Never a URL path segment: the connector is reported, never read, written, deleted, adopted or imported.
        read.odd("Id", f"{shorten(connector_id)} cannot be a connector Id in a URL ({refused})")
        connector_id = shorten(connector_id, quoted=False)
    settings = read.mapping(record.get("Settings"), "Settings")
    raw_config = settings.get("config")
    config: Mapping[str, Any] = {}
    if isinstance(raw_config, list):
        if raw_config:
            config = read.mapping(raw_config[0], "Settings.config[0]")
    elif raw_config is not None:
        read.odd("Settings.config", f"is {_kind_of(raw_config)}, not a list")
    auth = read.mapping(record.get("Authentication"), "Authentication")
    raw_tags = record.get("Tags")
    tags: tuple[str, ...] = ()
    if isinstance(raw_tags, list):
        tags = tuple(read.text(t, f"Tags[{i}]") for i, t in enumerate(raw_tags))
    elif raw_tags is not None:
        read.odd("Tags", f"is {_kind_of(raw_tags)}, not a list")
    # sg-sdk-go types the tag values as nullable: a null value reads as an absent tag.
    context_tags = {str(k): read.text(v, f"ContextTags.{k}")
                    for k, v in read.mapping(record.get("ContextTags"), "ContextTags").items() if v is not None}
    email = config.get("bitbucketEmail")
    if email is not None and not isinstance(email, str):
        read.odd("Settings.config[0].bitbucketEmail", f"is {_kind_of(email)}, not a string")
        email = None
    declared_type = config.get(AUTH_TYPE_KEY)
    if declared_type is not None and not isinstance(declared_type, str):
        read.odd(f"Settings.config[0].{AUTH_TYPE_KEY}", f"is {_kind_of(declared_type)}, not a string")
    authenticated = auth.get("authenticated")
    observed = ObservedConnector(
        id=connector_id,
        name=read.text(record.get("ResourceName"), "ResourceName"),
        description=read.text(record.get("Description"), "Description"),
        tags=tags,
        context_tags=context_tags,
        kind=read.text(settings.get("kind"), "Settings.kind"),
        auth_type=infer_auth_type(config) if isinstance(declared_type, str | None) else None,
        email=email or None,
        username=_visible_username(config.get("bitbucketCreds")),
        has_secret=any(config.get(k) for k in WIRE_SECRET_KEYS),
        authenticated=authenticated if isinstance(authenticated, bool) else None,
        authenticated_at=read.epoch_ms(auth.get("authenticatedAt"), "Authentication.authenticatedAt"),
        created_at=read.epoch_ms(record.get("CreatedAt"), "CreatedAt"),
        modified_at=read.epoch_ms(record.get("ModifiedAt"), "ModifiedAt"),
    )
    if read.problems:
        raise OddRecordError(connector_id, read.problems, kind=observed.kind, partial=observed)
    return observed


# --------------------------------------------------------------------------- a record vs what was sent
def create_differences(record: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """What makes a stored connector other than the one a create sent; empty means "ours, as declared".

    Ours: every ContextTag we sent (our ownership and applied markers) is there with our value. As
    declared: name, description, tags, kind, auth type and email are ours. Secrets are masked on read:
    the client re-sends them when no fingerprint proves them.
    """
    differences: list[str] = []
    if str(record.get("ResourceName") or "") != str(payload.get("ResourceName") or ""):
        differences.append("ResourceName")
    if str(record.get("Description") or "") != str(payload.get("Description") or ""):
        differences.append("Description")
    if list(record.get("Tags") or []) != list(payload.get("Tags") or []):
        differences.append("Tags")
    stored_tags = record.get("ContextTags")
    if not isinstance(stored_tags, Mapping):
        stored_tags = {}
    sent_tags = payload.get("ContextTags") or {}
    # The last-write time says when, not what: two applies of the same definitions differ only there.
    if any(stored_tags.get(key) != value for key, value in sent_tags.items() if key != LAST_WRITE_TAG):
        differences.append("ContextTags")
    if record_kind(record) != record_kind(payload):
        differences.append("Settings.kind")
    stored, sent = _first_config(record.get("Settings")), _first_config(payload.get("Settings"))
    for key in (AUTH_TYPE_KEY, "bitbucketEmail"):
        if (stored.get(key) or None) != (sent.get(key) or None):
            differences.append(f"Settings.config[0].{key}")
    return differences


def answer_shows_write(record: Mapping[str, Any], patch: Mapping[str, Any], since: datetime | None) -> bool:
    """Whether a PATCH answer's record carries what was sent (secrets aside: they read back masked)."""
    if since is not None:
        modified = record.get("ModifiedAt")
        if not isinstance(modified, int | float) or modified <= round(since.timestamp() * 1000):
            return False
    cleared: dict[str, Any] = {"Description": "", "Tags": [], "ContextTags": {}}
    for key in ("ResourceName", "Description", "Tags", "ContextTags"):
        if key in patch and (record.get(key) or cleared.get(key)) != (patch[key] or cleared.get(key)):
            return False
    sent_settings = patch.get("Settings")
    if isinstance(sent_settings, Mapping):
        if record_kind(record) != sent_settings.get("kind"):
            return False
        shown = _first_config(record.get("Settings"))
        sent = _first_config(sent_settings)
        for key, value in sent.items():
            if key not in WIRE_SECRET_KEYS and shown.get(key) != value:
                return False
    return True
