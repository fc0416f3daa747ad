"""The Bitbucket connector as a user declares it, and the three auth types, each one object.

Everything a front (Pulumi, Terraform, CLI) accepts from a user becomes a :class:`Connector`
here, so the rules live once. Validation failures become :class:`ConnectorValidationError`,
whose problems name the field path, the rule broken and the fix, and never echo a secret.

An auth type is its class: its fields and their rules, the parts its fingerprint covers, its
``Settings.config[0]`` on the wire, the Authorization header Bitbucket wants, the ContextTags
it writes and reads back, and how preflight checks it (:class:`PreflightProfile`; the profile
names its probe algorithm, which :mod:`sg_bitbucket_iac.preflight` maps to code). Adding an auth
type is one more class here, plus its tests.
"""

from __future__ import annotations

import base64
import enum
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConnectorValidationError, Problem
from .field_rules import (
    check_description,
    check_email,
    check_id,
    check_name,
    check_project_key,
    check_repository,
    check_secret,
    check_tag,
    check_tags,
    check_tags_list,
    check_username,
    check_workspace,
    custom_error,
    derive_id,
    field_name,
)
from .problems import Shape, problems_from_validation_error
from .secrets import Secret, fingerprint, fingerprint_matches
from .tags import ACCESS_SCOPE_TAG, PROJECT_TAG, REPOSITORY_TAG, USERNAME_TAG

if TYPE_CHECKING:
    from .wire import ObservedConnector


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
    def auth_class(self) -> type[AnyAuth]:
        return _AUTH_CLASS_OF[self]

    @property
    def credential_fields(self) -> tuple[str, ...]:
        """The user-facing fields that make up this type's credential set."""
        return self.auth_class.credential_fields

    @property
    def secret_field(self) -> str:
        return self.auth_class.secret_field


# --------------------------------------------------------------------------- preflight profiles
@dataclass(frozen=True)
class PreflightProfile:
    """How preflight checks one auth type: its probe algorithm, the scopes StackGuardian's guide asks of it, and
    its wording.

    ``rows`` is the auth type's part of the guide's table: what each credential, by the guide's name
    for it, must hold; nothing outside its row is required
    (docs/evidence.md#what-stackguardians-guide-requires-per-credential).
    """

    algorithm: str  # the probe sequence; preflight/algorithms.py maps the name to code
    probes: Mapping[str, str]  # what a probe reads (user, workspace, repository, project, pullrequest) -> its scope
    labels: Mapping[str, str]  # each scope in the guide's words (Atlassian's, for a scope the guide does not name)
    rows: Mapping[str, tuple[str, ...]]  # the guide's name for a credential -> the scopes it requires
    classic_scopes: bool  # Bitbucket's classic scope names, which imply one another (API-token names do not)
    subject: str  # who is speaking in messages
    auth_failed: str  # the 401 text; {who}: the account
    fix: str  # what to do about missing scopes


# --------------------------------------------------------------------------- auth types
class _AuthBase(BaseModel):
    """What every auth type is and does; each subclass fills the class attributes."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=False)

    auth_type: ClassVar[AuthType]
    credential_fields: ClassVar[tuple[str, ...]]  # the credential set's user-facing fields, in order
    secret_field: ClassVar[str]
    stored_fields: ClassVar[frozenset[str]]  # those StackGuardian stores (the others live in our ContextTags)
    wire_keys: ClassVar[tuple[str, ...]]  # the Settings.config[0] keys it sets, besides bitbucketAuthType
    wire_secret_key: ClassVar[str]  # the one StackGuardian masks on read
    preflight: ClassVar[PreflightProfile]

    @property
    def secret(self) -> Secret:
        value = getattr(self, self.secret_field)
        assert isinstance(value, Secret)
        return value

    @property
    @abstractmethod
    def account(self) -> str:
        """Who Bitbucket authenticates (messages name it); empty for a credential that is not a user."""

    @property
    @abstractmethod
    def guide_name(self) -> str:
        """What StackGuardian's guide calls this credential: its row in the guide's table."""

    @property
    def required_scopes(self) -> tuple[str, ...]:
        """The scopes preflight requires: the guide's row for this credential, no more."""
        return self.preflight.rows[self.guide_name]

    def credential_parts(self) -> tuple[str, ...]:
        """What the credential fingerprint covers: every stored field, the secret revealed."""
        return tuple(self.secret.reveal() if f == self.secret_field else str(getattr(self, f))
                     for f in self.credential_fields if f in self.stored_fields)

    def identity(self) -> tuple[str, ...]:
        """The credential set's non-secret values (what makes two preflights of one secret differ)."""
        return tuple(str(getattr(self, f) or "") for f in self.credential_fields if f != self.secret_field)

    @abstractmethod
    def wire_config(self) -> dict[str, Any]:
        """`Settings.config[0]`: the whole credential set of this type, secrets still wrapped."""

    @abstractmethod
    def authorization_header(self) -> str:
        """How Bitbucket wants this credential: Basic for a user and a password or token, Bearer for an access token."""

    @abstractmethod
    def descriptive_tags(self) -> dict[str, str]:
        """Non-secret facts of the credential that StackGuardian does not show, kept in ContextTags."""

    @classmethod
    @abstractmethod
    def shown_fields(cls, observed: ObservedConnector) -> dict[str, str | None]:
        """The non-secret credential fields as StackGuardian (and our ContextTags) show them; None: unknown."""


def _basic(user: str, secret: Secret) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret.reveal()}".encode()).decode("ascii")


class ApiTokenAuth(_AuthBase):
    """Atlassian API token with Bitbucket scopes: Basic `email:token` for REST, username for git."""

    type: Literal["api_token"] = "api_token"
    username: str
    email: str
    api_token: Secret

    auth_type: ClassVar[AuthType] = AuthType.API_TOKEN
    credential_fields: ClassVar[tuple[str, ...]] = ("username", "email", "api_token")
    secret_field: ClassVar[str] = "api_token"
    stored_fields: ClassVar[frozenset[str]] = frozenset(credential_fields)
    wire_keys: ClassVar[tuple[str, ...]] = ("bitbucketCreds", "bitbucketEmail")
    wire_secret_key: ClassVar[str] = "bitbucketCreds"
    preflight: ClassVar[PreflightProfile] = PreflightProfile(
        "api_token",
        # docs/evidence.md#preflight-of-an-api-token and #bitbucket-scopes: API-token names, which imply nothing.
        {"user": "read:user:bitbucket", "workspace": "read:workspace:bitbucket",
         "repository": "read:repository:bitbucket", "project": "read:project:bitbucket",
         "pullrequest": "read:pullrequest:bitbucket"},
        {"read:user:bitbucket": "User:bitbucket: Read", "read:workspace:bitbucket": "Workspace:bitbucket: Read",
         "read:repository:bitbucket": "Repository:bitbucket: Read", "read:project:bitbucket": "Project:bitbucket: Read",
         "read:pullrequest:bitbucket": "Pullrequest:bitbucket: Read", "read:account": "Account: Read",
         "read:me": "Me: Read"},
        # The guide's Account: Read and Me: Read (read:account, read:me) are Atlassian platform scopes no
        # Bitbucket answer shows: reported as not verifiable, never required.
        {"API token": ("read:project:bitbucket", "read:pullrequest:bitbucket", "read:repository:bitbucket",
                       "read:user:bitbucket", "read:workspace:bitbucket")},
        False,
        "Token",
        "Bitbucket rejected the API token for {who}. Check that: the email is your Atlassian account email; the "
        "token was created with 'Create API token with scopes' for the Bitbucket app (unscoped or Jira-only "
        "tokens fail); it is not expired or revoked (API tokens expire within 1 year).",
        "create a new API token with all of them (Atlassian API tokens cannot be edited: 'Create API token with "
        "scopes', app Bitbucket) and update the connector",
    )

    @field_validator("username")
    @classmethod
    def _username(cls, value: str, info: ValidationInfo) -> str:
        return check_username(value, info, "api_token")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str, info: ValidationInfo) -> str:
        return check_email(value, info)

    @field_validator("api_token")
    @classmethod
    def _token(cls, value: Secret) -> Secret:
        return check_secret(value, "API token")

    @property
    def account(self) -> str:
        return self.email

    @property
    def guide_name(self) -> str:
        return "API token"

    def wire_config(self) -> dict[str, Any]:
        return {"bitbucketAuthType": self.auth_type.wire,
                "bitbucketCreds": Secret(f"{self.username}:{self.api_token.reveal()}"),
                "bitbucketEmail": self.email}

    def authorization_header(self) -> str:
        return _basic(self.email, self.api_token)

    def descriptive_tags(self) -> dict[str, str]:
        return {USERNAME_TAG: self.username}

    @classmethod
    def shown_fields(cls, observed: ObservedConnector) -> dict[str, str | None]:
        return {"username": observed.username or observed.context_tags.get(USERNAME_TAG) or None,
                "email": observed.email}


class AccessTokenAuth(_AuthBase):
    """Repository, project or workspace access token, sent as Bearer; no user identity."""

    type: Literal["access_token"] = "access_token"
    access_token: Secret
    scope: Literal["repository", "project", "workspace"]
    repository: str | None = None
    project: str | None = None

    auth_type: ClassVar[AuthType] = AuthType.ACCESS_TOKEN
    credential_fields: ClassVar[tuple[str, ...]] = ("access_token", "scope", "repository", "project")
    secret_field: ClassVar[str] = "access_token"
    stored_fields: ClassVar[frozenset[str]] = frozenset({"access_token"})
    wire_keys: ClassVar[tuple[str, ...]] = ("bitbucketAccessToken",)
    wire_secret_key: ClassVar[str] = "bitbucketAccessToken"
    preflight: ClassVar[PreflightProfile] = PreflightProfile(
        "access_token",
        # docs/evidence.md#preflight-of-an-access-token: tokens are not users, so only resource scopes are probed;
        # a workspace token's Account: Read is judged from the scopes Bitbucket reports.
        {"repository": "repository", "project": "project"},
        {"repository": "Repositories: Read", "project": "Projects: Read", "account": "Account: Read"},
        {"repository access token": ("repository",),
         "project access token": ("project", "repository"),
         "workspace access token": ("account", "project", "repository")},
        True,
        "Access token",
        "Bitbucket rejected the access token. It may be revoked, or the resource it belonged to was deleted or "
        "transferred (repository tokens are revoked on transfer). Access tokens are sent as Bearer. If this is "
        "an Atlassian API token, choose the 'API token' type and supply your email.",
        "create a new access token with all of them (access-token scopes cannot be changed after creation) and "
        "update the connector",
    )

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
        return check_secret(value, "access token")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_repository(value, info)

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        return None if value is None else check_project_key(value)

    @model_validator(mode="after")
    def _scope_needs(self, info: ValidationInfo) -> AccessTokenAuth:
        scope, repository, project = (field_name(info, f) for f in ("scope", "repository", "project"))
        if self.scope == "repository":
            if not self.repository:
                raise custom_error(
                    "repository_required",
                    f"{scope} 'repository' needs `{repository}`: a repository access token works for one "
                    "repository only; name it",
                )
            if self.project:
                raise custom_error(
                    "project_with_repository_scope",
                    "a repository access token cannot cover project {project}; "
                    f"drop `{project}` or use a project access token ({scope}: project)",
                    project=self.project,
                )
        if self.scope == "project" and not self.project:
            raise custom_error(
                "project_required",
                f"{scope} 'project' needs `{project}`: the key of the project the token was created in",
            )
        return self

    @property
    def account(self) -> str:
        return ""

    @property
    def guide_name(self) -> str:
        return f"{self.scope} access token"

    def wire_config(self) -> dict[str, Any]:
        return {"bitbucketAuthType": self.auth_type.wire, "bitbucketAccessToken": self.access_token}

    def authorization_header(self) -> str:
        return "Bearer " + self.access_token.reveal()

    def descriptive_tags(self) -> dict[str, str]:
        tags: dict[str, str] = {ACCESS_SCOPE_TAG: self.scope}
        if self.repository:
            tags[REPOSITORY_TAG] = self.repository
        if self.project:
            tags[PROJECT_TAG] = self.project
        return tags

    @classmethod
    def shown_fields(cls, observed: ObservedConnector) -> dict[str, str | None]:
        tags = observed.context_tags
        return {"scope": tags.get(ACCESS_SCOPE_TAG) or None, "repository": tags.get(REPOSITORY_TAG) or None,
                "project": tags.get(PROJECT_TAG) or None}


class AppPasswordAuth(_AuthBase):
    """Legacy Bitbucket app password: Basic `username:app_password`. Being removed; see timeline."""

    type: Literal["app_password"] = "app_password"
    username: str
    app_password: Secret

    auth_type: ClassVar[AuthType] = AuthType.APP_PASSWORD
    credential_fields: ClassVar[tuple[str, ...]] = ("username", "app_password")
    secret_field: ClassVar[str] = "app_password"
    stored_fields: ClassVar[frozenset[str]] = frozenset(credential_fields)
    wire_keys: ClassVar[tuple[str, ...]] = ("bitbucketCreds",)
    wire_secret_key: ClassVar[str] = "bitbucketCreds"
    preflight: ClassVar[PreflightProfile] = PreflightProfile(
        "app_password",
        # docs/evidence.md#preflight-of-an-app-password: classic names; /user and /user/workspaces both need `account`,
        # the repository listing `repository`, which the guide's Projects: Read (`project`) implies.
        {"user": "account", "workspace": "account", "repository": "repository", "project": "project"},
        {"account": "Account: Read", "project": "Projects: Read", "repository": "Repositories: Read"},
        {"app password": ("account", "project")},
        True,
        "App password",
        # The app-password preflight (docs/evidence.md#preflight-of-an-app-password) also words a brownout 401
        # (2026-06-09..07-27); app passwords are refused from 2026-06-09 before anything is sent, so only the
        # plain message remains.
        "Invalid username or app password for {who} (app passwords authenticate with the Bitbucket username, "
        "not the email).",
        # No command here: every front names its own way to switch (wording.py's `migrate`).
        "app passwords can no longer be created or changed; switch the connector to an API token (or an access "
        "token) with the scopes it needs",
    )

    @field_validator("username")
    @classmethod
    def _username(cls, value: str, info: ValidationInfo) -> str:
        return check_username(value, info, "app_password")

    @field_validator("app_password")
    @classmethod
    def _password(cls, value: Secret) -> Secret:
        return check_secret(value, "app password")

    @property
    def account(self) -> str:
        return self.username

    @property
    def guide_name(self) -> str:
        return "app password"

    def wire_config(self) -> dict[str, Any]:
        return {"bitbucketAuthType": self.auth_type.wire,
                "bitbucketCreds": Secret(f"{self.username}:{self.app_password.reveal()}")}

    def authorization_header(self) -> str:
        return _basic(self.username, self.app_password)

    def descriptive_tags(self) -> dict[str, str]:
        return {USERNAME_TAG: self.username}

    @classmethod
    def shown_fields(cls, observed: ObservedConnector) -> dict[str, str | None]:
        return {"username": observed.username or observed.context_tags.get(USERNAME_TAG) or None}


AnyAuth: TypeAlias = ApiTokenAuth | AccessTokenAuth | AppPasswordAuth
Auth = Annotated[AnyAuth, Field(discriminator="type")]
AUTH_CLASSES: tuple[type[AnyAuth], ...] = (ApiTokenAuth, AccessTokenAuth, AppPasswordAuth)  # recommended first
_AUTH_CLASS_OF: dict[AuthType, type[AnyAuth]] = {c.auth_type: c for c in AUTH_CLASSES}
SECRET_FIELDS = frozenset(c.secret_field for c in AUTH_CLASSES)


# --------------------------------------------------------------------------- the connector
Tag = Annotated[str, AfterValidator(check_tag)]  # its problems point at the item: `tags[2]`


class Connector(BaseModel):
    """A Bitbucket connector as the user declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    id: str | None = None
    description: str = ""
    tags: tuple[Tag, ...] = ()
    workspace: str
    auth: Auth

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_id(value, info)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("description")
    @classmethod
    def _description_len(cls, value: str) -> str:
        return check_description(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_none(cls, value: Any, info: ValidationInfo) -> Any:
        return () if value is None else check_tags_list(value, info)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_tags(value)

    @field_validator("workspace")
    @classmethod
    def _workspace(cls, value: str) -> str:
        return check_workspace(value)

    @property
    def connector_id(self) -> str:
        return self.id or derive_id(self.name)

    @property
    def auth_type(self) -> AuthType:
        return self.auth.auth_type

    def _fingerprint_context(self, org: str) -> str:
        return f"{org}/{self.connector_id}/{self.auth_type.wire}"

    def credential_fingerprint(self, org: str) -> str:
        """Keyed or salted-slow fingerprint of the credential set (secrets/fingerprints.py says which and why);
        same for everyone applying the same values."""
        return fingerprint(self._fingerprint_context(org), *self.auth.credential_parts())

    def credential_fingerprint_matches(self, org: str, known: str | None) -> bool:
        """Whether ``known`` (of any fingerprint scheme, old stacks included) fingerprints this credential set."""
        return fingerprint_matches(known, self._fingerprint_context(org), *self.auth.credential_parts())


# --------------------------------------------------------------------------- parsing
_SHAPE = Shape(
    top_fields=tuple(Connector.model_fields),
    auth_models={c.auth_type.value: c for c in AUTH_CLASSES},
    rule_fields={"repository_required": "repository", "project_with_repository_scope": "project",
                 "project_required": "project"},
)
_AUTH_ADAPTER: TypeAdapter[AnyAuth] = TypeAdapter(Auth)


def parse_connector(data: Mapping[str, Any], prefix: str = "", *, names: Mapping[str, str] | None = None) -> Connector:
    """Validate user input into a Connector, or raise ConnectorValidationError naming each problem.

    ``names``: the fields as the asking front names them, for the messages (wording.py's tables).
    """
    if not isinstance(data, Mapping):
        raise ConnectorValidationError([Problem(prefix, "a connector is a mapping of fields", "type")])
    try:
        return Connector.model_validate(dict(data), context={"names": names or {}})
    except ValidationError as exc:
        raise ConnectorValidationError(problems_from_validation_error(exc, _SHAPE, prefix, names)) from None


def parse_auth(data: Mapping[str, Any], prefix: str = "auth") -> AnyAuth:
    """Validate a credential on its own (CLI flags, migrate), with the same rules and messages."""
    try:
        return _AUTH_ADAPTER.validate_python(dict(data), context={"names": {}})
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, _SHAPE, inside=("auth",))
        if prefix != "auth":
            problems = [Problem(prefix + p.path[len("auth"):], p.message, p.rule) for p in problems]
        raise ConnectorValidationError(problems) from None


def credentials_from(auth_type: AuthType | str, values: Mapping[str, Any]) -> AnyAuth:
    """Build an auth from loose values (CLI flags, import), with the model's validation and errors."""
    auth_fields = {name for auth_class in AUTH_CLASSES for name in auth_class.credential_fields}
    # Every credential field given is passed on, so a field of another auth type is an error
    # ("belongs to auth type ...") rather than silently dropped.
    fields = {k: v for k, v in values.items() if v is not None and k in auth_fields}
    return parse_auth({"type": AuthType(auth_type).value, **fields})


__all__ = [
    "AUTH_CLASSES",
    "AccessTokenAuth",
    "AnyAuth",
    "ApiTokenAuth",
    "AppPasswordAuth",
    "AuthType",
    "Connector",
    "ConnectorValidationError",
    "PreflightProfile",
    "Problem",
    "credentials_from",
    "parse_auth",
    "parse_connector",
]
