"""Everything the emulated Bitbucket holds, how the admin API seeds it, and how it is saved.

``BitbucketState`` keeps the workspaces and the credentials (by secret). The admin API's
``POST /bitbucket/workspaces``, ``POST /bitbucket/credentials`` and ``PATCH
/bitbucket/credentials/{fingerprint-or-secret}`` land here; their input is checked so that only
credentials Bitbucket could really issue are seeded (an access token never expires, a repository
token cannot hold ``project``, ...). The emulator's lock (``emulator/state.py``) is held around
every call.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ...timeline import parse_instant
from .credentials import FINGERPRINT_CHARS, KINDS, Credential, secret_fingerprint
from .objects import Account, Project, Repository, Workspace, bitbucket_uuid
from .scopes import check_scope_names

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PROJECT_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
DEFAULT_PROJECT_KEY = "PROJ"
ACCESS_TOKENS_NEVER_EXPIRE = (
    "access tokens never expire (docs/evidence.md#bitbucket-rate-limits-pagination-and-expiry); revoke them instead"
)


def _text_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{name} must be a list of non-empty strings")
    return [v.strip() for v in value]


def _check_fields(body: Any, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError(f"{what} body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"{what}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return body


def _optional_instant(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO 8601 date-time string or null")
    try:
        return parse_instant(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an ISO 8601 date-time") from None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


class BitbucketState:
    """All emulated Bitbucket data. Callers hold the emulator's lock around mutations."""

    CREDENTIAL_FIELDS = frozenset(
        {
            "kind",
            "secret",
            "email",
            "username",
            "display_name",
            "scopes",
            "workspaces",
            "admin_workspaces",
            "resource",
            "expires_at",
            "revoked",
        }
    )
    PATCH_FIELDS = frozenset({"scopes", "expires_at", "revoked", "workspaces", "admin_workspaces"})

    def __init__(self) -> None:
        self.workspaces: dict[str, Workspace] = {}
        self.credentials: dict[str, Credential] = {}  # by secret

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "workspaces": [
                {
                    "slug": ws.slug,
                    "name": ws.name,
                    "uuid": ws.uuid,
                    "members": list(ws.members),
                    "projects": [asdict(p) for p in ws.projects.values()],
                    "repositories": [asdict(r) for r in ws.repositories.values()],
                }
                for ws in self.workspaces.values()
            ],
            "credentials": [
                {
                    "kind": c.kind,
                    "secret": c.secret,
                    "scopes": list(c.scopes),
                    "workspaces": list(c.workspaces),
                    "admin_workspaces": list(c.admin_workspaces),
                    "account": None if c.account is None else asdict(c.account),
                    "resource": c.resource,
                    "expires_at": c.expires_at.isoformat() if c.expires_at else None,
                    "revoked": c.revoked,
                }
                for c in self.credentials.values()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BitbucketState:
        state = cls()
        for ws in data.get("workspaces", []):
            workspace = Workspace(ws["slug"], ws["name"], ws["uuid"], members=list(ws.get("members", [])))
            for project in ws.get("projects", []):
                workspace.projects[project["key"]] = Project(**project)
            for repository in ws.get("repositories", []):
                workspace.repositories[repository["slug"]] = Repository(**repository)
            state.workspaces[workspace.slug] = workspace
        for cred in data.get("credentials", []):
            account = cred.get("account")
            state.credentials[cred["secret"]] = Credential(
                kind=cred["kind"],
                secret=cred["secret"],
                scopes=list(cred["scopes"]),
                workspaces=list(cred["workspaces"]),
                admin_workspaces=list(cred.get("admin_workspaces", [])),
                account=Account(**account) if account else None,
                resource=cred.get("resource"),
                expires_at=_optional_instant(cred.get("expires_at"), "expires_at"),
                revoked=bool(cred.get("revoked", False)),
            )
        return state

    # ------------------------------------------------------------------ admin: workspaces
    def add_workspace(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a workspace, or merge projects, repositories and members into an existing one."""
        body = _check_fields(body, {"slug", "name", "projects", "repositories", "members"}, "workspace")
        slug = body.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ValueError("slug is required: the workspace slug as in bitbucket.org/<slug>")
        projects = body.get("projects") or []
        repositories = body.get("repositories") or []
        if not isinstance(projects, list) or not isinstance(repositories, list):
            raise ValueError("projects and repositories must be lists of objects")
        members = _text_list(body.get("members"), "members")
        workspace = self.workspaces.get(slug) or Workspace(slug, str(body.get("name") or slug), bitbucket_uuid(slug))
        staged_projects = dict(workspace.projects)
        for item in projects:
            item = _check_fields(item, {"key", "name"}, "project")
            key = item.get("key")
            if not isinstance(key, str) or not PROJECT_KEY_RE.match(key):
                raise ValueError(f"project key {key!r} is not a Bitbucket project key (letters, digits, _)")
            staged_projects[key] = Project(key, str(item.get("name") or key), bitbucket_uuid(slug, "project", key))
        staged_repositories = dict(workspace.repositories)
        for item in repositories:
            item = _check_fields(item, {"slug", "name", "project", "pullrequests"}, "repository")
            repo_slug = item.get("slug")
            if not isinstance(repo_slug, str) or not SLUG_RE.match(repo_slug):
                raise ValueError(f"repository slug {repo_slug!r} is not a Bitbucket repository slug")
            # Every Bitbucket repository lives in a project; an unnamed one goes to the default project.
            project_key = item.get("project") or (next(iter(staged_projects), None) or DEFAULT_PROJECT_KEY)
            if project_key not in staged_projects:
                if item.get("project"):
                    raise ValueError(f"repository {repo_slug}: project {project_key!r} is not in workspace {slug}")
                staged_projects[project_key] = Project(
                    project_key, "Untitled project", bitbucket_uuid(slug, "project", project_key)
                )
            titles = _text_list(item.get("pullrequests"), "pullrequests")
            staged_repositories[repo_slug] = Repository(
                repo_slug,
                str(item.get("name") or repo_slug),
                bitbucket_uuid(slug, "repository", repo_slug),
                project_key,
                titles,
            )
        workspace.projects = staged_projects
        workspace.repositories = staged_repositories
        workspace.members.extend(m for m in members if m not in workspace.members)
        if body.get("name"):
            workspace.name = str(body["name"])
        self.workspaces[slug] = workspace
        return workspace.summary()

    # ------------------------------------------------------------------ admin: credentials
    def add_credential(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a credential (adding the same secret again replaces it)."""
        body = _check_fields(body, set(self.CREDENTIAL_FIELDS), "credential")
        kind = body.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        secret = body.get("secret")
        if not isinstance(secret, str) or not secret or any(ch.isspace() for ch in secret):
            raise ValueError("secret is required: a non-empty string without whitespace")
        if "scopes" not in body:
            raise ValueError("scopes is required: a list of scope names ([] for an unscoped token)")
        scopes = _text_list(body["scopes"], "scopes")
        workspaces = _text_list(body.get("workspaces"), "workspaces")
        admin_workspaces = _text_list(body.get("admin_workspaces"), "admin_workspaces")
        expires_at = _optional_instant(body.get("expires_at"), "expires_at")
        revoked = body.get("revoked", False)
        if not isinstance(revoked, bool):
            raise ValueError("revoked must be true or false")
        resource = body.get("resource")
        fingerprint = secret_fingerprint(secret)
        account: Account | None = None
        if kind == "access_token":
            resource, workspaces = self._access_token_resource(resource, workspaces)
            if expires_at is not None:
                raise ValueError(ACCESS_TOKENS_NEVER_EXPIRE)
            if body.get("email") or body.get("username"):
                raise ValueError("access tokens have no user: drop email/username (they act as their own user)")
        else:
            if resource is not None:
                raise ValueError("resource applies to access tokens only")
            account = self._account(body, fingerprint)
            # Administering a workspace implies membership of it.
            workspaces += [ws for ws in admin_workspaces if ws not in workspaces]
        check_scope_names(kind, scopes, resource)
        credential = Credential(
            kind=kind,
            secret=secret,
            scopes=scopes,
            workspaces=workspaces,
            admin_workspaces=admin_workspaces,
            account=account,
            resource=resource,
            expires_at=expires_at,
            revoked=revoked,
        )
        self.credentials[secret] = credential
        return credential.summary()

    def patch_credential(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Revoke, re-scope or re-date a credential found by fingerprint or by secret."""
        credential = self.find_credential(key)
        if credential is None:
            raise KeyError(key if len(key) <= FINGERPRINT_CHARS else secret_fingerprint(key))
        body = _check_fields(body, set(self.PATCH_FIELDS), "credential patch")
        if "revoked" in body:
            if not isinstance(body["revoked"], bool):
                raise ValueError("revoked must be true or false")
            credential.revoked = body["revoked"]
        if "scopes" in body:
            scopes = _text_list(body["scopes"], "scopes")
            check_scope_names(credential.kind, scopes, credential.resource)
            credential.scopes = scopes
        if "expires_at" in body:
            if credential.kind == "access_token" and body["expires_at"] is not None:
                raise ValueError(ACCESS_TOKENS_NEVER_EXPIRE)
            credential.expires_at = _optional_instant(body["expires_at"], "expires_at")
        if "workspaces" in body:
            if credential.kind == "access_token":
                raise ValueError("an access token's workspace is fixed by its resource")
            credential.workspaces = _text_list(body["workspaces"], "workspaces")
        if "admin_workspaces" in body:
            credential.admin_workspaces = _text_list(body["admin_workspaces"], "admin_workspaces")
        return credential.summary()

    def find_credential(self, key: str) -> Credential | None:
        if key in self.credentials:
            return self.credentials[key]
        return next((c for c in self.credentials.values() if c.fingerprint == key), None)

    @staticmethod
    def _access_token_resource(resource: Any, workspaces: list[str]) -> tuple[str, list[str]]:
        """An access token belongs to one repository, one project or one workspace."""
        if resource is None and len(workspaces) == 1:
            resource = workspaces[0]
        if not isinstance(resource, str) or not resource:
            raise ValueError('access tokens need resource: "ws" (workspace), "ws/repo" or "ws/project:KEY"')
        ws, _, tail = resource.partition("/")
        if not SLUG_RE.match(ws) or (tail and not (SLUG_RE.match(tail) or re.match(r"^project:\w+$", tail))):
            raise ValueError(f'resource {resource!r} is not "ws", "ws/repo" or "ws/project:KEY"')
        if workspaces and workspaces != [ws]:
            raise ValueError(f"an access token for {resource} belongs to workspace {ws} only")
        return resource, [ws]

    def _account(self, body: dict[str, Any], fingerprint: str) -> Account:
        """The user behind an API token or app password; missing fields get sensible defaults."""
        email = body.get("email")
        username = body.get("username")
        for name, value in (
            ("email", email),
            ("username", username),
            ("display_name", body.get("display_name")),
        ):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string")
        if email is not None and "@" not in email:
            raise ValueError("email must be an email address")
        if username is not None and "@" in username:
            raise ValueError("username is the Bitbucket username, not an email")
        if username is None:
            username = re.sub(r"[^a-z0-9_-]", "-", email.split("@")[0].lower()) if email else f"user-{fingerprint[:8]}"
        existing = next(
            (c.account for c in self.credentials.values() if c.account and c.account.username == username),
            None,
        )
        if email is None:
            email = existing.email if existing else f"{username}@example.com"
        display_name = body.get("display_name") or (existing.display_name if existing else username.title())
        return Account(username, str(display_name), email, bitbucket_uuid("account", username))

    # ------------------------------------------------------------------ StackGuardian's authenticated flag
    def credential_authenticates(self, auth_type: str, config: dict[str, Any], now: datetime) -> bool:
        """Whether Bitbucket would accept the credential StackGuardian stores, at emulated time ``now``."""
        kind = auth_type.lower()
        if kind == "access_token":
            secret = _as_text(config.get("bitbucketAccessToken"))
            user = None
        else:
            user, _, secret = _as_text(config.get("bitbucketCreds")).partition(":")
            if kind == "api_token":
                user = _as_text(config.get("bitbucketEmail"))
        credential = self.credentials.get(secret) if secret else None
        if credential is None or credential.kind != kind:
            return False
        return credential.rejection(user, now, self.workspaces) is None
