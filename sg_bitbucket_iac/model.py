"""The Bitbucket connector: declared shape, validation, and the StackGuardian wire format.

Everything a front (Pulumi, Terraform, CLI) accepts from a user becomes a :class:`Connector`
here, so the rules live once. Validation failures become :class:`ConnectorValidationError`,
whose problems name the field path, the rule broken and the fix, and never echo a secret.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .errors import ConnectorValidationError, Problem
from .redact import control_characters
from .secrets import Secret, reveal

KIND = "BITBUCKET_ORG"
MASKED_VALUES = frozenset({"********", "****", "*****", "***"})
# Ids: what we derive from a name is stricter than what StackGuardian can hold. The documented
# rule (`^[a-zA-Z0-9_]+$`, under 100 characters) is met by every Id we derive; the API also holds
# Ids with hyphens (its live tests use them, and older connectors whose Id is their ResourceName),
# so a declared or imported Id may have them.
DERIVED_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
HELD_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
ID_RE = DERIVED_ID_RE
WORKSPACE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,61}$")
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
PROJECT_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 99
MAX_DESCRIPTION = 255
MAX_TAGS = 10
# Keys under which this tool keeps its markers in a connector's ContextTags.
CONTEXT_TAG_PREFIX = "sg-bitbucket-iac/"
MANAGED_TAG = CONTEXT_TAG_PREFIX + "managed"
FINGERPRINT_TAG = CONTEXT_TAG_PREFIX + "fingerprint"
WORKSPACE_TAG = CONTEXT_TAG_PREFIX + "workspace"
ACCESS_SCOPE_TAG = CONTEXT_TAG_PREFIX + "access-token-scope"
REPOSITORY_TAG = CONTEXT_TAG_PREFIX + "repository"
PROJECT_TAG = CONTEXT_TAG_PREFIX + "project"
# The Bitbucket username StackGuardian masks inside bitbucketCreds (not a secret): lets `import`
# write a complete entry for any connector this tool wrote, from whichever front or `migrate`.
USERNAME_TAG = CONTEXT_TAG_PREFIX + "username"


class AuthType(enum.StrEnum):
    API_TOKEN = "api_token"
    ACCESS_TOKEN = "access_token"
    APP_PASSWORD = "app_password"

    @property
    def wire(self) -> str:
        return self.value.upper()

    @classmethod
    def from_wire(cls, value: str) -> AuthType:
        return cls(value.lower())

    @property
    def credential_fields(self) -> tuple[str, ...]:
        """The user-facing fields that make up this type's credential set."""
        return CREDENTIAL_FIELDS[self]

    @property
    def secret_field(self) -> str:
        return {"api_token": "api_token", "access_token": "access_token", "app_password": "app_password"}[
            self.value
        ]


CREDENTIAL_FIELDS: dict[AuthType, tuple[str, ...]] = {
    AuthType.API_TOKEN: ("username", "email", "api_token"),
    AuthType.ACCESS_TOKEN: ("access_token", "scope", "repository", "project"),
    AuthType.APP_PASSWORD: ("username", "app_password"),
}
SECRET_FIELDS = frozenset({"api_token", "access_token", "app_password"})
WIRE_SECRET_KEYS = frozenset({"bitbucketCreds", "bitbucketAccessToken"})


def derive_id(name: str) -> str:
    """StackGuardian Id from a ResourceName: every character outside [A-Za-z0-9_] becomes `_`."""
    derived = re.sub(r"[^A-Za-z0-9_]", "_", name.strip())
    return derived[:MAX_NAME] or "connector"


def is_held_id(value: str) -> bool:
    """Whether StackGuardian can hold this Id (accepted in `id:` and from the API)."""
    return bool(HELD_ID_RE.match(value)) and len(value) <= MAX_NAME


def _custom(kind: str, message: str, **values: Any) -> PydanticCustomError:
    """A pydantic error whose text is final (values are substituted here as repr, braces escaped)."""
    text = message.format(**{k: repr(v) for k, v in values.items()}) if values else message
    return PydanticCustomError(kind, text.replace("{", "{{").replace("}", "}}"))


def _check_secret(value: Secret, label: str) -> Secret:
    """Surrounding whitespace (`file("token.txt")`, CI secret stores) is dropped; anything else odd is refused."""
    raw = value.reveal()
    stripped = raw.strip()
    if stripped != raw:
        value, raw = Secret(stripped), stripped
    if not raw:
        raise _custom("secret_empty", f"the {label} is empty; paste the whole value")
    # Tabs and line breaks get the whitespace message below; any other control character is refused here.
    bad = [name for name in control_characters(raw) if name not in ("U+0009", "U+000A", "U+000D")]
    if bad:
        raise _custom(
            "secret_control_characters",
            f"the {label} contains control characters ({', '.join(bad)}); no Bitbucket credential has them: "
            "copy it again",
        )
    if raw.split() != [raw]:  # inner whitespace (str.split is C-speed over long tokens)
        raise _custom(
            "secret_whitespace",
            f"the {label} contains whitespace; copy it again without spaces or line breaks",
        )
    if raw.strip("*") == "" or raw in MASKED_VALUES:
        raise _custom(
            "secret_masked",
            f"the {label} is a mask (****), not the real value; StackGuardian never returns secrets, "
            "so supply the value itself",
        )
    return value


def _check_username(value: str, auth_label: str) -> str:
    value = value.strip()
    if not value:
        raise _custom("username_empty", "give your Bitbucket username (bitbucket.org/account/settings)")
    if "@" in value:
        raise _custom(
            "username_is_email",
            f"this is your Bitbucket username, not an email ({auth_label}); find it at "
            "bitbucket.org/account/settings" + ("; put the email in the email field" if auth_label == "api_token"
                                                 else "; app passwords do not work with an email"),
        )
    if ":" in value or any(ch.isspace() for ch in value):
        raise _custom("username_format", "a Bitbucket username has no ':' or spaces")
    return value


class _AuthBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=False)


class ApiTokenAuth(_AuthBase):
    """Atlassian API token with Bitbucket scopes: Basic `email:token` for REST, username for git."""

    type: Literal["api_token"] = "api_token"
    username: str
    email: str
    api_token: Secret

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return _check_username(value, "api_token")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value:
            raise _custom(
                "email_missing_at",
                "API tokens authenticate with your Atlassian account email; {value} has no @ "
                "(the Bitbucket username goes in the username field)",
                value=value,
            )
        if not EMAIL_RE.match(value):
            raise _custom("email_format", "{value} is not an email address like alice@example.com", value=value)
        return value

    @field_validator("api_token")
    @classmethod
    def _token(cls, value: Secret) -> Secret:
        return _check_secret(value, "API token")

    @property
    def auth_type(self) -> AuthType:
        return AuthType.API_TOKEN

    @property
    def secret(self) -> Secret:
        return self.api_token


class AccessTokenAuth(_AuthBase):
    """Repository, project or workspace access token, sent as Bearer; no user identity."""

    type: Literal["access_token"] = "access_token"
    access_token: Secret
    scope: Literal["repository", "project", "workspace"]
    repository: str | None = None
    project: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _infer_scope(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("scope") in (None, ""):
            data = dict(data)
            if data.get("repository"):
                data["scope"] = "repository"
            elif data.get("project"):
                data["scope"] = "project"
            else:
                data["scope"] = "workspace"
        return data

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: Secret) -> Secret:
        return _check_secret(value, "access token")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if "/" in value:
            raise _custom(
                "repository_has_workspace",
                "give the repository slug only (e.g. 'infra'), not 'workspace/infra'; the workspace goes in "
                "`workspace`",
            )
        if not REPOSITORY_RE.match(value):
            raise _custom("repository_format", "a repository slug uses letters, digits, '.', '-' and '_' only")
        return value

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not PROJECT_KEY_RE.match(value):
            raise _custom(
                "project_key_format",
                "a project key is the short KEY shown in Bitbucket's project settings (letters, digits, _)",
            )
        return value

    @model_validator(mode="after")
    def _scope_needs(self) -> AccessTokenAuth:
        if self.scope == "repository":
            if not self.repository:
                raise _custom(
                    "repository_required",
                    "scope 'repository' needs `repository`: a repository access token works for one "
                    "repository only; name it",
                )
            if self.project:
                raise _custom(
                    "project_with_repository_scope",
                    "a repository access token cannot cover project {project}; drop `project` or use a "
                    "project access token (scope: project)",
                    project=self.project,
                )
        if self.scope == "project" and not self.project:
            raise _custom(
                "project_required",
                "scope 'project' needs `project`: the key of the project the token was created in",
            )
        return self

    @property
    def auth_type(self) -> AuthType:
        return AuthType.ACCESS_TOKEN

    @property
    def secret(self) -> Secret:
        return self.access_token


class AppPasswordAuth(_AuthBase):
    """Legacy Bitbucket app password: Basic `username:app_password`. Being removed; see timeline."""

    type: Literal["app_password"] = "app_password"
    username: str
    app_password: Secret

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return _check_username(value, "app_password")

    @field_validator("app_password")
    @classmethod
    def _password(cls, value: Secret) -> Secret:
        return _check_secret(value, "app password")

    @property
    def auth_type(self) -> AuthType:
        return AuthType.APP_PASSWORD

    @property
    def secret(self) -> Secret:
        return self.app_password


Auth = Annotated[ApiTokenAuth | AccessTokenAuth | AppPasswordAuth, Field(discriminator="type")]


class Connector(BaseModel):
    """A Bitbucket connector as the user declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    id: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    workspace: str
    auth: Auth

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise _custom("name_empty", "give the connector a name (its StackGuardian ResourceName)")
        if len(value) > MAX_NAME:
            raise _custom("name_too_long", f"a connector name has at most {MAX_NAME} characters; shorten it")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not is_held_id(value):
            raise _custom(
                "id_format",
                "a StackGuardian Id uses only letters, digits, '_' and '-' (at most 99); e.g. {suggestion}, "
                "or leave `id` out to derive it from the name",
                suggestion=derive_id(value),
            )
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("description")
    @classmethod
    def _description_len(cls, value: str) -> str:
        if len(value) > MAX_DESCRIPTION:
            raise _custom(
                "description_too_long",
                f"StackGuardian keeps descriptions under 256 characters; this one has {len(value)}; shorten it",
            )
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_none(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            raise _custom("tags_not_list", "tags is a list of strings, e.g. [platform, prod]")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_TAGS:
            raise _custom("too_many_tags", f"StackGuardian allows at most {MAX_TAGS} tags; this has {len(value)}")
        for tag in value:
            if not tag.strip():
                raise _custom("tag_empty", "tags cannot be empty strings; remove the empty entry")
        if len(set(value)) != len(value):
            raise _custom("tag_duplicate", "each tag may appear once; remove the duplicates")
        return tuple(tag.strip() for tag in value)

    @field_validator("workspace")
    @classmethod
    def _workspace(cls, value: str) -> str:
        value = value.strip()
        if not WORKSPACE_RE.match(value):
            raise _custom(
                "workspace_format",
                "give the Bitbucket workspace slug as in bitbucket.org/<slug> (lowercase letters, digits, "
                "'-', '_', '.'); {value} is not one",
                value=value,
            )
        return value

    @property
    def connector_id(self) -> str:
        return self.id or derive_id(self.name)

    @property
    def auth_type(self) -> AuthType:
        return self.auth.auth_type

    def credential_fingerprint(self, org: str) -> str:
        """Keyed or salted-slow fingerprint of the credential set (secrets/fingerprints.py says which and why);
        same for everyone applying the same values."""
        from .secrets import fingerprint

        return fingerprint(f"{org}/{self.connector_id}/{self.auth_type.wire}", *credential_parts(self.auth))

    def credential_fingerprint_matches(self, org: str, known: str | None) -> bool:
        """Whether ``known`` (of any fingerprint scheme, old stacks included) fingerprints this credential set."""
        from .secrets import fingerprint_matches

        return fingerprint_matches(known, f"{org}/{self.connector_id}/{self.auth_type.wire}",
                                   *credential_parts(self.auth))


def credential_parts(auth: ApiTokenAuth | AccessTokenAuth | AppPasswordAuth) -> tuple[str, ...]:
    if isinstance(auth, ApiTokenAuth):
        return (auth.username, auth.email, auth.api_token.reveal())
    if isinstance(auth, AccessTokenAuth):
        return (auth.access_token.reveal(),)
    return (auth.username, auth.app_password.reveal())


# --------------------------------------------------------------------------- validation errors
_AUTH_MODELS: dict[str, type[_AuthBase]] = {
    "api_token": ApiTokenAuth,
    "access_token": AccessTokenAuth,
    "app_password": AppPasswordAuth,
}
_TOP_FIELDS = tuple(Connector.model_fields)
_ALL_AUTH_FIELDS = sorted({f for m in _AUTH_MODELS.values() for f in m.model_fields})


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """`connectors[0].auth.email`; a key that may carry a value is cut short (:func:`display_key`)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            part = display_key(str(part))
            path = f"{path}.{part}" if path else part
    return path


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(_key_stem(word), list(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""


# A key holding a separator or a space, or longer than any real key, may be `key:value` typed without
# the space YAML needs after the colon (`{api_token:SECRET}` in a flow mapping): it is shown cut short.
_KEY_SEPARATORS = re.compile(r"[:=\s]")
_MAX_SHOWN_KEY = 32


def _key_stem(key: str) -> str:
    return _KEY_SEPARATORS.split(key, maxsplit=1)[0]


def looks_like_key_with_value(key: str) -> bool:
    return bool(_KEY_SEPARATORS.search(key)) or len(key) > _MAX_SHOWN_KEY


def display_key(key: str) -> str:
    """An unknown key as it may be printed: in full only when it cannot be carrying a value."""
    if not key:
        return '""'
    if not looks_like_key_with_value(key):
        return key
    stem = _key_stem(key)[:_MAX_SHOWN_KEY]
    return f"{stem}…" if stem else "…"


def unknown_key_message(key: str, candidates: Iterable[str]) -> str:
    """`unknown key ...` with a "did you mean", never echoing what may be a value typed into the key."""
    shown = display_key(key)
    message = f"unknown key `{shown}`{did_you_mean(key, candidates)}"
    if shown != key:
        message += (f" (the key was cut: it has {len(key)} characters and looks like `key:value` without a space "
                    "after the colon; YAML needs `key: value`, also inside `{...}`)")
    return message


def _problem_from_error(err: Mapping[str, Any], prefix: str, data: Any) -> Problem:
    loc = list(err.get("loc", ()))
    auth_type: str | None = None
    # Discriminated unions put the tag into the location: ("auth", "api_token", "email").
    if len(loc) >= 2 and loc[0] == "auth" and loc[1] in _AUTH_MODELS:
        auth_type = str(loc[1])
        loc = [loc[0], *loc[2:]]
    kind = str(err.get("type", "invalid"))
    path = join_path(prefix, loc)
    field_name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        if auth_type is not None:
            allowed = [f for f in _AUTH_MODELS[auth_type].model_fields if f != "type"]
            belongs = [t for t, m in _AUTH_MODELS.items() if field_name in m.model_fields]
            if belongs:
                message = (
                    f"`{field_name}` belongs to auth type {' / '.join(belongs)}, not {auth_type}; a connector "
                    f"has one credential set, so remove it (an {auth_type} auth takes {', '.join(allowed)})"
                )
            else:
                message = unknown_key_message(field_name, _ALL_AUTH_FIELDS)
            return Problem(path, message, "unknown_key")
        return Problem(path, unknown_key_message(field_name, _TOP_FIELDS), "unknown_key")
    if kind == "missing":
        if auth_type is not None:
            model_fields = _AUTH_MODELS[auth_type].model_fields
            needed = ", ".join(f for f, info in model_fields.items() if f != "type" and info.is_required())
            return Problem(path, f"required for auth type {auth_type} (it needs {needed}); add it", "required")
        if field_name == "auth":
            return Problem(path, "required: add an `auth` block with `type` and its credential fields", "required")
        return Problem(path, "required; add it", "required")
    if kind == "union_tag_not_found":
        return Problem(
            join_path(path, ["type"]),
            "required: set `type` to api_token (recommended), access_token or app_password",
            "required",
        )
    if kind == "union_tag_invalid":
        tag = str((err.get("ctx") or {}).get("tag", ""))
        hint = did_you_mean(tag, _AUTH_MODELS)
        return Problem(
            join_path(path, ["type"]),
            f"unknown auth type {tag!r}{hint} (use api_token, access_token or app_password)",
            "auth_type",
        )
    if kind == "literal_error" and field_name == "scope":
        return Problem(path, "scope is one of repository, project, workspace", "scope")
    if kind in ("string_type", "list_type", "tuple_type", "dict_type", "model_type", "model_attributes_type"):
        expected = {
            "string_type": "a string",
            "list_type": "a list",
            "tuple_type": "a list",
            "dict_type": "a mapping",
            "model_type": "a mapping of fields",
            "model_attributes_type": "a mapping of fields",
        }[kind]
        return Problem(path, f"must be {expected}", "type")
    if kind in _RULE_FIELD:
        path = join_path(path, [_RULE_FIELD[kind]])
    message = str(err.get("msg", "invalid"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return Problem(path, message, kind)


# Rules checked across fields (model validators) still point at the field the user must change.
_RULE_FIELD = {
    "repository_required": "repository",
    "project_with_repository_scope": "project",
    "project_required": "project",
}


def problems_from_validation_error(exc: ValidationError, prefix: str = "", data: Any = None) -> list[Problem]:
    # include_input=False: pydantic must never hand us back an input value (it may be a secret).
    return [_problem_from_error(err, prefix, data) for err in exc.errors(include_input=False, include_url=False)]


_AUTH_ADAPTER: TypeAdapter[ApiTokenAuth | AccessTokenAuth | AppPasswordAuth] = TypeAdapter(Auth)


def parse_auth(data: Mapping[str, Any], prefix: str = "auth") -> ApiTokenAuth | AccessTokenAuth | AppPasswordAuth:
    """Validate a credential on its own (CLI flags, migrate), with the same rules and messages."""
    try:
        return _AUTH_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            located = {**err, "loc": ("auth", *err.get("loc", ()))}
            problems.append(_problem_from_error(located, "", data))
        if prefix != "auth":
            problems = [Problem(prefix + p.path[len("auth"):], p.message, p.rule) for p in problems]
        raise ConnectorValidationError(problems) from None


def parse_connector(data: Mapping[str, Any], prefix: str = "") -> Connector:
    """Validate user input into a Connector, or raise ConnectorValidationError naming each problem."""
    if not isinstance(data, Mapping):
        raise ConnectorValidationError([Problem(prefix, "a connector is a mapping of fields", "type")])
    try:
        return Connector.model_validate(dict(data))
    except ValidationError as exc:
        raise ConnectorValidationError(problems_from_validation_error(exc, prefix, data)) from None


def credentials_from(
    auth_type: AuthType | str, values: Mapping[str, Any]
) -> ApiTokenAuth | AccessTokenAuth | AppPasswordAuth:
    """Build an auth from loose values (CLI flags, import), with the model's validation and errors."""
    auth_fields = {name for fields in CREDENTIAL_FIELDS.values() for name in fields}
    # Every credential field given is passed on, so a field of another auth type is an error
    # ("belongs to auth type ...") rather than silently dropped.
    fields = {k: v for k, v in values.items() if v is not None and k in auth_fields}
    return parse_auth({"type": AuthType(auth_type).value, **fields})


# --------------------------------------------------------------------------- StackGuardian wire format
def credential_config(auth: ApiTokenAuth | AccessTokenAuth | AppPasswordAuth) -> dict[str, Any]:
    """`Settings.config[0]` for an auth: the whole credential set of its type and nothing else.

    Secret values stay wrapped; the StackGuardian client reveals them only while encoding JSON.
    """
    if isinstance(auth, ApiTokenAuth):
        return {
            "bitbucketAuthType": "API_TOKEN",
            "bitbucketCreds": Secret(f"{auth.username}:{auth.api_token.reveal()}"),
            "bitbucketEmail": auth.email,
        }
    if isinstance(auth, AccessTokenAuth):
        return {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": auth.access_token}
    return {
        "bitbucketAuthType": "APP_PASSWORD",
        "bitbucketCreds": Secret(f"{auth.username}:{auth.app_password.reveal()}"),
    }


def settings_payload(auth: ApiTokenAuth | AccessTokenAuth | AppPasswordAuth) -> dict[str, Any]:
    return {"kind": KIND, "config": [credential_config(auth)]}


def patch_settings_payload(auth: ApiTokenAuth | AccessTokenAuth | AppPasswordAuth) -> dict[str, Any]:
    """`Settings` for a PATCH: the new credential set plus an explicit null for every other type's key.

    Nothing of the old auth type may survive, whether the server replaces `Settings` whole or
    merges `config[0]` key by key (PatchedIntegration fields take null to clear, sg-sdk-go).
    """
    config = credential_config(auth)
    every_type = ("bitbucketCreds", "bitbucketEmail", "bitbucketAccessToken")
    config.update({key: None for key in every_type if key not in config})
    return {"kind": KIND, "config": [config]}


def descriptive_context_tags(connector: Connector) -> dict[str, str]:
    """Non-secret declared facts that StackGuardian does not model, kept so drift and import can see them."""
    tags = {WORKSPACE_TAG: connector.workspace}
    if isinstance(connector.auth, ApiTokenAuth | AppPasswordAuth):
        tags[USERNAME_TAG] = connector.auth.username
    if isinstance(connector.auth, AccessTokenAuth):
        tags[ACCESS_SCOPE_TAG] = connector.auth.scope
        if connector.auth.repository:
            tags[REPOSITORY_TAG] = connector.auth.repository
        if connector.auth.project:
            tags[PROJECT_TAG] = connector.auth.project
    return tags


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
    raw_config_keys: tuple[str, ...] = field(default=())

    @property
    def managed(self) -> bool:
        """Owned by the CLI (so the CLI prunes it and reports it as undeclared); see :mod:`.ownership`."""
        return self.owner == "cli"

    @property
    def owner(self) -> str | None:
        """The front that owns it (`cli`, `terraform`, `pulumi`), or None."""
        from .ownership import owner_of

        front = owner_of(self.context_tags)
        return front.value if front is not None else None

    @property
    def fingerprint(self) -> str | None:
        return self.context_tags.get(FINGERPRINT_TAG)

    @property
    def workspace(self) -> str | None:
        return self.context_tags.get(WORKSPACE_TAG)

    @property
    def is_bitbucket(self) -> bool:
        return self.kind == KIND


# Epoch milliseconds a datetime can hold (years 1 to 9999): anything outside is not a time.
_MIN_EPOCH_MS = -62_135_596_800_000
_MAX_EPOCH_MS = 253_402_300_799_999


class _RecordReader:
    """Reads one ConnectorRecord field by field, noting what is odd instead of raising at the first."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record
        self.problems: list[Problem] = []

    def odd(self, path: str, what: str) -> None:
        from .redact import escape_control

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
    """bitbucketAuthType if present, else the server's assumed inference order (access token, email)."""
    declared = config.get("bitbucketAuthType")
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


def observed_from_record(record: Mapping[str, Any]) -> ObservedConnector:
    """Parse a ConnectorRecord. Secret keys are reduced to 'present or not' on the spot.

    A record that is odd in any way (a field of the wrong type, a time out of range) raises
    :class:`~sg_bitbucket_iac.errors.OddRecordError` naming the connector and every odd field, and
    nothing else: an org scan reports it and goes on with the other connectors.
    """
    from .errors import OddRecordError

    if not isinstance(record, Mapping):
        raise OddRecordError("", [Problem("", f"the record is {_kind_of(record)}, not a mapping", "unreadable_record")])
    read = _RecordReader(record)
    connector_id = read.text(record.get("Id"), "Id") or read.text(record.get("ResourceName"), "ResourceName")
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
    declared_type = config.get("bitbucketAuthType")
    if declared_type is not None and not isinstance(declared_type, str):
        read.odd("Settings.config[0].bitbucketAuthType", f"is {_kind_of(declared_type)}, not a string")
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
        raw_config_keys=tuple(sorted(str(k) for k in config)),
    )
    if read.problems:
        raise OddRecordError(connector_id, read.problems, kind=observed.kind)
    return observed


def wire_json_default(value: Any) -> Any:
    """`json.dumps(default=...)` hook that reveals wrapped secrets: used only for request bodies."""
    if isinstance(value, Secret):
        return value.reveal()
    raise TypeError(f"cannot encode {type(value).__name__}")


__all__ = [
    "KIND",
    "AccessTokenAuth",
    "ApiTokenAuth",
    "AppPasswordAuth",
    "AuthType",
    "Connector",
    "ConnectorValidationError",
    "ObservedConnector",
    "Problem",
    "credential_config",
    "derive_id",
    "observed_from_record",
    "parse_connector",
    "patch_settings_payload",
    "reveal",
    "to_create_payload",
]
