"""Emulated Bitbucket Cloud REST API 2.0: just enough of it for credential preflight, faithfully.

Every behaviour below cites the section of ``/work/shared/reference/bitbucket-api.md`` ("ref §N")
it reproduces. Where the reference leaves a detail open, the choice is marked **[emulator
choice]** together with the reason, so a later live capture can correct it in one place.

What is modelled:

* workspaces with projects and repositories (and optional pull requests);
* credentials of three kinds, each tied to an emulated account or, for access tokens, to the
  repository / project / workspace it was created for;
* authentication exactly as Bitbucket documents it (ref §1a/b/c): API tokens only as Basic
  ``email:token``, access tokens only as Bearer, app passwords only as Basic ``username:password``
  and refused during the brownout windows and after the removal (ref §4);
* scope enforcement per endpoint with the 403 privilege-scope body (ref §1 "Error and status
  shapes") and the ``x-oauth-scopes`` / ``x-accepted-oauth-scopes`` / ``x-credential-type``
  headers on every authenticated response (ref §2);
* pagination (ref §3) and the 410 answers of the CHANGE-2770 endpoints (ref §1a);
* the shapes of Atlassian's published spec (the subset in reference/bitbucket-openapi-subset.json,
  "SPEC" below): every object with the `links` and nested `type`s its schema defines, the query
  parameters each operation lists, ``Content-Type: application/json; charset=utf-8``. The tests
  validate every answer against that subset and run atlassian-python-api against this module.

Fault injection (429 text/plain without Retry-After, 5xx, latency) is the server's business; this
module never produces a 429.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ..timeline import BITBUCKET_REMOVAL, bitbucket_in_brownout, parse_instant
from .core import EmulatedClock, Request, Response, Router

KINDS = ("api_token", "access_token", "app_password")
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PROJECT_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
DEFAULT_PROJECT_KEY = "PROJ"
FINGERPRINT_CHARS = 16

# ref §1a "Bad credentials": the token message Bitbucket gives for every API-token problem.
TOKEN_INVALID = "Token is invalid, expired, or not supported for this endpoint."
# ref §1b: cross-workspace calls with an access token (support KB "This API is not accessible...").
NOT_ACCESSIBLE = "This API is not accessible by this authentication mechanism"
# ref §1 "Error and status shapes": the privilege-scope 403.
LACKS_SCOPES = "Your credentials lack one or more required privilege scopes."
# ref §1c / KB-401: a Basic 401 carries this challenge.
BASIC_REALM = 'Basic realm="Bitbucket.org HTTP"'
# [emulator choice] ref §1 leaves the wording of a wrong username/app-password 401 open; the
# same body is used during brownouts so that, as ref §4 says, the two cannot be told apart.
BAD_BASIC_CREDENTIALS = "Invalid username or password."
# [emulator choice] the 404 text Bitbucket shows for repositories that are hidden or absent
# (ref §1b: "404 = not found or not visible").
REPOSITORY_NOT_FOUND = (
    "You may not have access to this repository or it no longer exists in this workspace. If you think "
    "this repository exists and you have access, make sure you are authenticated."
)
# ref §1a "Cross-workspace endpoints are gone (CHANGE-2770)": the exact 410 body.
CHANGE_2770_BODY: dict[str, Any] = {
    "type": "error",
    "error": {
        "message": "CHANGE-2770 - Functionality has been deprecated",
        "detail": "Please read the changelog entry for more details.",
        "data": {"announcement_url": "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"},
    },
}

# ref §1b: classic scopes each access-token type may hold.
RAT_SCOPES = frozenset(
    {
        "repository",
        "repository:write",
        "repository:admin",
        "repository:delete",
        "pullrequest",
        "pullrequest:write",
        "webhook",
        "pipeline",
        "pipeline:write",
        "pipeline:variable",
        "runner",
        "runner:write",
    }
)
PAT_SCOPES = RAT_SCOPES | {"project"}
WAT_SCOPES = PAT_SCOPES | {"project:admin", "account"}
# ref §1c lists the read permissions; the write/admin variants are Bitbucket's classic scope names.
APP_PASSWORD_SCOPES = WAT_SCOPES | {
    "email",
    "account:write",
    "team",
    "team:write",
    "project:write",
    "issue",
    "issue:write",
    "wiki",
    "snippet",
    "snippet:write",
}
# ref §1b "Implication rules": what each classic scope also grants. repository:admin implies nothing.
CLASSIC_IMPLIES: dict[str, tuple[str, ...]] = {
    "project": ("repository",),
    "pullrequest": ("repository",),
    "repository:write": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write"),
}
# ref §2: API-token scopes are the fine-grained `…:bitbucket` names; a token without any of them
# was made unscoped or for another Atlassian app and gets 401 (ref §1a).
BITBUCKET_SCOPE_SUFFIX = ":bitbucket"
# ref §2 "Observed x-credential-type values". The app-password value is unknown (ref §2, Open
# question 2). [emulator choice] `app_password`, the name of the kind, so a client can tell it apart.
CREDENTIAL_TYPES = {
    "api_token": "api_token",
    "app_password": "app_password",
    "repository": "repo_access_token",
    "project": "project_access_token",
    "workspace": "workspace_access_token",
}
# ref §3 "Pagination": the SPEC's envelopes give pagelen a minimum of 1 and say "the default value is
# 10 with 100 being the maximum allowed value".
MIN_PAGELEN, DEFAULT_PAGELEN, MAX_PAGELEN = 1, 10, 100
# The content type of every JSON answer, as the KB-SCOPE capture shows it (ref §2).
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
QUERY_RE = re.compile(r'^\s*(?P<field>project\.key|slug|name)\s*=\s*"(?P<value>[^"]*)"\s*$')


def classic_closure(scopes: Iterable[str]) -> set[str]:
    """Granted classic scopes plus everything they imply (ref §1b "Implication rules")."""
    result: set[str] = set()
    pending = list(scopes)
    while pending:
        scope = pending.pop()
        if scope not in result:
            result.add(scope)
            pending.extend(CLASSIC_IMPLIES.get(scope, ()))
    return result


def secret_fingerprint(secret: str) -> str:
    """The admin API's handle on a credential: a sha256 prefix, so tests never echo the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:FINGERPRINT_CHARS]


def _bitbucket_uuid(*names: str) -> str:
    """Bitbucket writes UUIDs in braces; derived from names so state files stay reproducible."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "bitbucket-emulator/" + "/".join(names))) + "}"


def _json(status: int, payload: Any) -> Response:
    return Response.json(status, payload, {"Content-Type": JSON_CONTENT_TYPE})


def _error(status: int, message: str, **extra: Any) -> Response:
    """The standard error body (ref §1 "Standardized error responses")."""
    error: dict[str, Any] = {"message": message}
    error.update(extra)
    return _json(status, {"type": "error", "error": error})


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


# --------------------------------------------------------------------------- data
# Every object carries the `links` its SPEC schema defines (ref §5; the subset in
# reference/bitbucket-openapi-subset.json): real clients navigate by them, e.g.
# atlassian-python-api builds a repository's pull-request URL from `links.self`.
# API links point at this emulator (``api`` is ``http://<Host>/2.0``); web links at bitbucket.org.
WEB = "https://bitbucket.org"
# [emulator choice] no creation dates are modelled; one fixed instant in the SPEC's date-time form.
CREATED_ON = "2025-01-06T09:00:00.000000+00:00"


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def _avatar(kind: str, *names: str) -> dict[str, str]:
    return _link(f"{WEB}/{kind}/{'/'.join(names)}/avatar/")


@dataclass
class Project:
    key: str
    name: str
    uuid: str

    def links(self, workspace: Workspace, api: str) -> dict[str, Any]:
        return {
            "self": _link(f"{api}/workspaces/{workspace.slug}/projects/{self.key}"),
            "html": _link(f"{WEB}/{workspace.slug}/workspace/projects/{self.key}"),
            "avatar": _avatar("account/user", workspace.slug, "projects", self.key),
        }

    def reference(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """The project as nested in a repository."""
        return {"type": "project", "key": self.key, "name": self.name, "uuid": self.uuid,
                "links": self.links(workspace, api)}

    def to_api(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """SPEC `project`: its schema lists `html` and `avatar` links; `self` is what clients fetch it by."""
        return {
            **self.reference(workspace, api),
            "description": "",
            "is_private": True,
            "has_publicly_visible_repos": False,
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "owner": workspace.owner(api),
            "workspace": workspace.reference(api),
        }


@dataclass
class Repository:
    slug: str
    name: str
    uuid: str
    project_key: str
    pullrequests: list[str] = field(default_factory=list)  # titles of open pull requests

    def reference(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """The repository as nested in other objects (a pull request's source/destination): typed, linked."""
        return {
            "type": "repository",
            "name": self.name,
            "full_name": f"{workspace.slug}/{self.slug}",
            "uuid": self.uuid,
            "links": {
                "self": _link(f"{api}/repositories/{workspace.slug}/{self.slug}"),
                "html": _link(f"{WEB}/{workspace.slug}/{self.slug}"),
                "avatar": _link(f"{WEB}/{workspace.slug}/{self.slug}/avatar/"),
            },
        }

    def to_api(self, workspace: Workspace, api: str) -> dict[str, Any]:
        """SPEC `repository`, with every navigation link its schema names."""
        project = workspace.projects[self.project_key]
        base = f"{api}/repositories/{workspace.slug}/{self.slug}"
        reference = self.reference(workspace, api)
        return {
            **reference,
            "slug": self.slug,
            "description": "",
            "is_private": True,
            "scm": "git",
            "fork_policy": "no_public_forks",
            "has_issues": False,
            "has_wiki": False,
            "language": "",
            "size": 0,
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "mainbranch": {"type": "branch", "name": "main"},
            "owner": workspace.owner(api),
            "project": project.reference(workspace, api),
            "workspace": workspace.reference(api),
            "links": {
                **reference["links"],
                "pullrequests": _link(f"{base}/pullrequests"),
                "commits": _link(f"{base}/commits"),
                "forks": _link(f"{base}/forks"),
                "watchers": _link(f"{base}/watchers"),
                "downloads": _link(f"{base}/downloads"),
                "hooks": _link(f"{base}/hooks"),
                # [emulator choice] only the https clone link: the real ssh one (git@bitbucket.org:ws/r.git)
                # is not a URI, which the SPEC's `format: uri` asks for.
                "clone": [{"name": "https", "href": f"{WEB}/{workspace.slug}/{self.slug}.git"}],
            },
        }

    def pull_request(self, workspace: Workspace, number: int, api: str) -> dict[str, Any]:
        """SPEC `pullrequest`: source/destination carry a typed `repository`, a branch and a commit."""
        base = f"{api}/repositories/{workspace.slug}/{self.slug}/pullrequests/{number}"
        digest = hashlib.sha1(f"{workspace.slug}/{self.slug}#{number}".encode()).hexdigest()  # a stable fake hash
        repository = self.reference(workspace, api)
        return {
            "type": "pullrequest",
            "id": number,
            "title": self.pullrequests[number - 1],
            "state": "OPEN",
            "summary": {"type": "rendered", "raw": "", "markup": "markdown", "html": ""},
            "author": workspace.owner(api),
            "source": {"branch": {"name": f"feature/pr-{number}"}, "commit": {"type": "commit", "hash": digest[:12]},
                       "repository": repository},
            "destination": {"branch": {"name": "main"}, "commit": {"type": "commit", "hash": digest[-12:]},
                            "repository": repository},
            "close_source_branch": False,
            "comment_count": 0,
            "task_count": 0,
            "reason": "",
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "links": {
                "self": _link(base),
                "html": _link(f"{WEB}/{workspace.slug}/{self.slug}/pull-requests/{number}"),
                **{name: _link(f"{base}/{name}") for name in ("commits", "approve", "diff", "comments", "activity",
                                                              "merge", "decline")},
            },
        }


@dataclass
class Workspace:
    slug: str
    name: str
    uuid: str
    projects: dict[str, Project] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # account usernames or emails

    def reference(self, api: str) -> dict[str, Any]:
        """`workspace_base` (SPEC): what `/user/workspaces` items nest. Its links may only be avatar and self."""
        return {
            "type": "workspace_base",
            "slug": self.slug,
            "uuid": self.uuid,
            "links": {"avatar": _avatar("workspaces", self.slug), "self": _link(f"{api}/workspaces/{self.slug}")},
        }

    def to_api(self, api: str) -> dict[str, Any]:
        """SPEC `workspace` (GET /workspaces/{workspace}), with the eight links its schema allows."""
        return {
            "type": "workspace",
            "slug": self.slug,
            "name": self.name,
            "uuid": self.uuid,
            "is_private": True,
            "is_privacy_enforced": False,
            "forking_mode": "allow_forks",
            "created_on": CREATED_ON,
            "updated_on": CREATED_ON,
            "links": {
                "avatar": _avatar("workspaces", self.slug),
                "html": _link(f"{WEB}/{self.slug}/"),
                "members": _link(f"{api}/workspaces/{self.slug}/members"),
                "owners": _link(f"{api}/workspaces/{self.slug}/members?q=permission%3D%22owner%22"),
                "projects": _link(f"{api}/workspaces/{self.slug}/projects"),
                "repositories": _link(f"{api}/repositories/{self.slug}"),
                "self": _link(f"{api}/workspaces/{self.slug}"),
                "snippets": _link(f"{api}/snippets/{self.slug}"),
            },
        }

    def owner(self, api: str) -> dict[str, Any]:
        """The account that owns the workspace's repositories (SPEC `account`; a team)."""
        return {
            "type": "team",
            "username": self.slug,
            "display_name": self.name,
            "uuid": self.uuid,
            "links": {
                "self": _link(f"{api}/workspaces/{self.slug}"),
                "html": _link(f"{WEB}/{self.slug}/"),
                "avatar": _avatar("workspaces", self.slug),
            },
        }

    def summary(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "uuid": self.uuid,
            "projects": sorted(self.projects),
            "repositories": [
                {"slug": r.slug, "project": r.project_key} for r in sorted(self.repositories.values(), key=_slug)
            ],
            "members": list(self.members),
        }


def _slug(repository: Repository) -> str:
    return repository.slug


@dataclass
class Account:
    """The user a credential acts as (ref §1a: API tokens and app passwords are user-based)."""

    username: str
    display_name: str
    email: str
    uuid: str

    def to_api(self, api: str) -> dict[str, Any]:
        """SPEC `user` with its `user_links`."""
        return {
            "type": "user",
            "username": self.username,
            "nickname": self.username,
            "display_name": self.display_name,
            "uuid": self.uuid,
            "account_id": "557058:" + self.uuid.strip("{}"),
            "account_status": "active",
            "is_staff": False,
            "created_on": CREATED_ON,
            "links": {
                "self": _link(f"{api}/users/{self.uuid}"),
                "html": _link(f"{WEB}/{self.uuid}/"),
                "avatar": _link(f"{WEB}/account/{self.username}/avatar/"),
                "repositories": _link(f"{api}/repositories/{self.uuid}"),
            },
        }


@dataclass
class Credential:
    kind: str
    secret: str
    scopes: list[str]
    workspaces: list[str]
    account: Account | None  # None for access tokens: they are not users (ref §1b)
    resource: str | None = None  # access tokens: "ws" | "ws/repo" | "ws/project:KEY"
    expires_at: datetime | None = None
    revoked: bool = False
    admin_workspaces: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return secret_fingerprint(self.secret)

    @property
    def token_workspace(self) -> str:
        return (self.resource or "").split("/", 1)[0]

    @property
    def token_repository(self) -> str | None:
        tail = (self.resource or "").partition("/")[2]
        return tail if tail and not tail.startswith("project:") else None

    @property
    def token_project(self) -> str | None:
        tail = (self.resource or "").partition("/")[2]
        return tail[len("project:") :] if tail.startswith("project:") else None

    @property
    def token_level(self) -> str:
        """repository | project | workspace (ref §1b: RAT, PAT, WAT)."""
        if self.token_repository:
            return "repository"
        return "project" if self.token_project else "workspace"

    @property
    def credential_type(self) -> str:
        return CREDENTIAL_TYPES[self.token_level if self.kind == "access_token" else self.kind]

    @property
    def uses_api_token_scopes(self) -> bool:
        """API tokens use the fine-grained names; the others use classic names (ref §2)."""
        return self.kind == "api_token"

    def effective_scopes(self) -> set[str]:
        """API-token scopes do not imply one another (ref §2); classic ones do (ref §1b)."""
        return set(self.scopes) if self.uses_api_token_scopes else classic_closure(self.scopes)

    def is_member(self, workspace: Workspace) -> bool:
        if self.kind == "access_token":
            return workspace.slug == self.token_workspace
        assert self.account is not None
        identities = {self.account.username.lower(), self.account.email.lower()}
        return workspace.slug in self.workspaces or any(m.lower() in identities for m in workspace.members)

    def summary(self) -> dict[str, Any]:
        """What the admin API returns: everything but the secret."""
        return {
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "credential_type": self.credential_type,
            "scopes": list(self.scopes),
            "workspaces": list(self.workspaces),
            "admin_workspaces": list(self.admin_workspaces),
            "resource": self.resource,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked": self.revoked,
            "account": None
            if self.account is None
            else {
                "username": self.account.username,
                "display_name": self.account.display_name,
                "email": self.account.email,
                "uuid": self.account.uuid,
            },
        }


# --------------------------------------------------------------------------- state
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
        workspace = self.workspaces.get(slug) or Workspace(slug, str(body.get("name") or slug), _bitbucket_uuid(slug))
        staged_projects = dict(workspace.projects)
        for item in projects:
            item = _check_fields(item, {"key", "name"}, "project")
            key = item.get("key")
            if not isinstance(key, str) or not PROJECT_KEY_RE.match(key):
                raise ValueError(f"project key {key!r} is not a Bitbucket project key (letters, digits, _)")
            staged_projects[key] = Project(key, str(item.get("name") or key), _bitbucket_uuid(slug, "project", key))
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
                    project_key, "Untitled project", _bitbucket_uuid(slug, "project", project_key)
                )
            titles = _text_list(item.get("pullrequests"), "pullrequests")
            staged_repositories[repo_slug] = Repository(
                repo_slug,
                str(item.get("name") or repo_slug),
                _bitbucket_uuid(slug, "repository", repo_slug),
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
                raise ValueError("access tokens never expire (ref §3 'Expiry'); revoke them instead")
            if body.get("email") or body.get("username"):
                raise ValueError("access tokens have no user: drop email/username (ref §1b)")
        else:
            if resource is not None:
                raise ValueError("resource applies to access tokens only")
            account = self._account(body, fingerprint)
            # Administering a workspace implies membership of it.
            workspaces += [ws for ws in admin_workspaces if ws not in workspaces]
        self._check_scope_names(kind, scopes, resource)
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
            self._check_scope_names(credential.kind, scopes, credential.resource)
            credential.scopes = scopes
        if "expires_at" in body:
            if credential.kind == "access_token" and body["expires_at"] is not None:
                raise ValueError("access tokens never expire (ref §3 'Expiry'); revoke them instead")
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
        """ref §1b: an access token belongs to one repository, one project or one workspace."""
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

    @staticmethod
    def _check_scope_names(kind: str, scopes: Sequence[str], resource: str | None) -> None:
        if kind == "api_token":
            bad = [s for s in scopes if "," in s or any(ch.isspace() for ch in s)]
        else:
            if kind == "app_password":
                allowed = APP_PASSWORD_SCOPES
            else:
                tail = (resource or "").partition("/")[2]
                allowed = PAT_SCOPES if tail.startswith("project:") else RAT_SCOPES if tail else WAT_SCOPES
            bad = [s for s in scopes if s not in allowed]
        if bad:
            raise ValueError(
                f"scope(s) {', '.join(bad)} cannot be granted to this {kind.replace('_', ' ')} "
                "(ref §1b/§1c/§2: API tokens use read:…:bitbucket names, the others classic names; "
                "a repository access token cannot hold project)"
            )

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
        return Account(username, str(display_name), email, _bitbucket_uuid("account", username))

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
        return self.rejection(credential, user, now) is None

    def rejection(self, credential: Credential, user: str | None, now: datetime) -> str | None:
        """Why Bitbucket answers 401 to this credential presented with ``user``, or None if it does not."""
        if credential.revoked:
            return TOKEN_INVALID if credential.kind != "app_password" else BAD_BASIC_CREDENTIALS
        if credential.kind == "api_token":
            assert credential.account is not None
            # ref §1a / KB-401: only the Atlassian email works; the username or token name do not.
            if (user or "").lower() != credential.account.email.lower():
                return TOKEN_INVALID
            # ref §3 "Expiry": an expired API token gives the token 401.
            if credential.expires_at is not None and now >= credential.expires_at:
                return TOKEN_INVALID
            # ref §1a: unscoped or Jira/Confluence-only tokens give 401.
            if not any(s.endswith(BITBUCKET_SCOPE_SUFFIX) for s in credential.scopes):
                return TOKEN_INVALID
            return None
        if credential.kind == "app_password":
            assert credential.account is not None
            # ref §1c / KB-401: the email (or the label) does not work with an app password.
            if (user or "").lower() != credential.account.username.lower():
                return BAD_BASIC_CREDENTIALS
            # ref §4: refused in brownout windows from 2026-06-09, and always from 2026-07-28.
            if now.astimezone(UTC).date() >= BITBUCKET_REMOVAL or bitbucket_in_brownout(now):
                return BAD_BASIC_CREDENTIALS
            return None
        # Access token: revoked when its resource is deleted or transferred (ref §1b, 401 text).
        workspace = self.workspaces.get(credential.token_workspace)
        if workspace is None:
            return TOKEN_INVALID
        if credential.token_repository and credential.token_repository not in workspace.repositories:
            return TOKEN_INVALID
        if credential.token_project and credential.token_project not in workspace.projects:
            return TOKEN_INVALID
        return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


# --------------------------------------------------------------------------- the API
@dataclass(frozen=True)
class EndpointScopes:
    """Which scopes an endpoint requires: the SPEC's ``x-atlassian-oauth2-scopes`` (API tokens) and
    ``security`` (classic) per operation, as the subset copies them; ref §1a's table had them
    [inferred] for repositories, pull requests and projects, the subset confirms them."""

    api_token: tuple[str, ...]
    classic: tuple[str, ...]
    access_tokens_allowed: bool = True

    def required_for(self, credential: Credential) -> tuple[str, ...]:
        return self.api_token if credential.uses_api_token_scopes else self.classic

    def accepted_header(self, credential: Credential) -> str:
        """``x-accepted-oauth-scopes``: classic scope names, narrowed to the granted ones that satisfy it.

        Two public captures, and this rule fits both: KB-SCOPE (ref §2) shows a repository token
        holding ``repository:write`` on a read endpoint (which needs ``repository``) answered
        ``x-accepted-oauth-scopes: repository:write``; a community thread (API token holding
        ``write:pullrequest:bitbucket``, POST .../approve) shows ``x-accepted-oauth-scopes:
        pullrequest:write``, the classic name, next to ``x-oauth-scopes`` in the new names
        (https://community.atlassian.com/forums/Bitbucket-questions/ERROR-APPROVE-PR-FOR-API-TOKEN-PERSONAL/qaq-p/3226160).
        """
        if not credential.uses_api_token_scopes:
            satisfying = [s for s in credential.scopes if set(self.classic) & classic_closure([s])]
            if satisfying:
                return ", ".join(satisfying)
        return ", ".join(self.classic)


USER_SCOPES = EndpointScopes(("read:user:bitbucket",), ("account",), access_tokens_allowed=False)
USER_WORKSPACES_SCOPES = EndpointScopes(("read:workspace:bitbucket",), ("account",), access_tokens_allowed=False)
REPOSITORY_SCOPES = EndpointScopes(("read:repository:bitbucket",), ("repository",))
PULLREQUEST_SCOPES = EndpointScopes(("read:pullrequest:bitbucket",), ("pullrequest",))
PROJECT_SCOPES = EndpointScopes(("read:project:bitbucket",), ("project",))
# [emulator choice] the SPEC subset records no scopes for GET /workspaces/{workspace} ("classic": null,
# "token": null), so any authenticated member may read it and no scope is checked or announced.
WORKSPACE_SCOPES = EndpointScopes((), ())


@dataclass
class _Call:
    """One authenticated request on its way through an endpoint."""

    request: Request
    credential: Credential
    scopes: EndpointScopes

    @property
    def api(self) -> str:
        """This API's base as the client reached it, for the objects' `links`."""
        return f"http://{self.request.headers.get('host', 'api.bitbucket.org')}/2.0"

    def headers(self) -> dict[str, str]:
        """ref §2: granted scopes as granted (no implied ones), the accepted ones, and the credential type."""
        headers = {
            "x-oauth-scopes": ", ".join(self.credential.scopes),
            "x-accepted-oauth-scopes": self.scopes.accepted_header(self.credential),
            "x-credential-type": self.credential.credential_type,
        }
        if not headers["x-accepted-oauth-scopes"]:
            del headers["x-accepted-oauth-scopes"]
        return headers


Endpoint = Callable[..., Response]


class BitbucketApi:
    """``handle(request) -> (route template, response)`` for paths under ``/2.0``."""

    def __init__(self, state: BitbucketState, clock: EmulatedClock, lock: threading.RLock) -> None:
        self.state = state
        self.clock = clock
        self.lock = lock
        self.router = Router()
        self.scopes: dict[str, EndpointScopes] = {}  # by route; the tests hold them against the SPEC
        gone = self._gone
        # ref §1a "Cross-workspace endpoints are gone (CHANGE-2770)".
        for path in ("/2.0/repositories", "/2.0/workspaces", "/2.0/user/permissions/repositories"):
            self.router.add("GET", path, gone)
        self._add("/2.0/user", USER_SCOPES, self._user)
        self._add("/2.0/user/workspaces", USER_WORKSPACES_SCOPES, self._user_workspaces)
        self._add("/2.0/user/workspaces/{workspace}/permission", USER_WORKSPACES_SCOPES, self._permission)
        self._add("/2.0/repositories/{workspace}", REPOSITORY_SCOPES, self._repositories)
        self._add("/2.0/repositories/{workspace}/{repo_slug}", REPOSITORY_SCOPES, self._repository)
        self._add("/2.0/repositories/{workspace}/{repo_slug}/pullrequests", PULLREQUEST_SCOPES, self._pullrequests)
        # atlassian-python-api's PullRequests.each() fetches every listed pull request by id.
        self._add("/2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}", PULLREQUEST_SCOPES,
                  self._pullrequest)
        # atlassian-python-api's Workspaces.get/each/exists read a workspace by slug.
        self._add("/2.0/workspaces/{workspace}", WORKSPACE_SCOPES, self._workspace_object)
        self._add("/2.0/workspaces/{workspace}/projects", PROJECT_SCOPES, self._projects)
        self._add("/2.0/workspaces/{workspace}/projects/{project_key}", PROJECT_SCOPES, self._project)

    def handle(self, request: Request) -> tuple[str, Response]:
        match = self.router.match(request)
        if match is None:
            return f"{request.method} (unknown)", _error(404, f"Resource not found: {request.path}")
        template, handler, params = match
        with self.lock:
            return template, handler(request=request, **params)

    # ------------------------------------------------------------------ plumbing
    def _add(self, template: str, scopes: EndpointScopes, endpoint: Endpoint) -> None:
        self.scopes[f"GET {template}"] = scopes

        def guarded(request: Request, **params: str) -> Response:
            outcome = self._authorize(request, scopes)
            if isinstance(outcome, Response):
                return outcome
            response = endpoint(outcome, **params)
            response.headers.update(outcome.headers())
            return response

        self.router.add("GET", template, guarded)

    @staticmethod
    def _gone(request: Request, **_: str) -> Response:
        return _json(410, CHANGE_2770_BODY)

    def _authorize(self, request: Request, scopes: EndpointScopes) -> _Call | Response:
        """Authenticate (401), check the mechanism (403) and the scopes (403), in Bitbucket's order."""
        found = self._authenticate(request)
        if isinstance(found, Response):
            return found
        call = _Call(request, found, scopes)
        if found.kind == "access_token" and not scopes.access_tokens_allowed:
            # ref §1b: a third-party Go client observed a 403 that still carries the credential
            # headers (Open question 3). The SPEC's x-atlassian-auth-types do not decide it: every
            # operation in it lists only forge-oauth2 and api-token, access tokens and app passwords
            # nowhere. [emulator choice] every /2.0/user* endpoint answers so: tokens are not users.
            return self._with_headers(_error(403, NOT_ACCESSIBLE), call)
        required = scopes.required_for(found)
        effective = found.effective_scopes()
        if any(scope not in effective for scope in required):
            # ref §1 "Missing scope → 403": detail is an object with required and granted.
            body = _error(403, LACKS_SCOPES, detail={"required": list(required), "granted": list(found.scopes)})
            return self._with_headers(body, call)
        return call

    @staticmethod
    def _with_headers(response: Response, call: _Call) -> Response:
        response.headers.update(call.headers())
        return response

    def _authenticate(self, request: Request) -> Credential | Response:
        """ref §1a/b/c: who may present which credential in which Authorization scheme."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        now = self.clock.now()
        if scheme == "basic":
            try:
                user, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                return self._unauthorized(BAD_BASIC_CREDENTIALS)
            credential = self.state.credentials.get(secret)
            if credential is None or credential.kind == "access_token":
                # Access tokens are Bearer for the API (ref §1b); x-token-auth is for git only.
                return self._unauthorized(TOKEN_INVALID if "@" in user else BAD_BASIC_CREDENTIALS)
            reason = self.state.rejection(credential, user, now)
            return credential if reason is None else self._unauthorized(reason)
        if scheme == "bearer" and value:
            credential = self.state.credentials.get(value)
            # ref §1a "Bearer does not work" for API tokens; app passwords are Basic only (ref §1c).
            if credential is None or credential.kind != "access_token":
                return self._unauthorized(TOKEN_INVALID, basic=False)
            reason = self.state.rejection(credential, None, now)
            return credential if reason is None else self._unauthorized(reason, basic=False)
        # [emulator choice] every emulated repository is private, so anonymous calls get 401.
        return self._unauthorized("Authentication required.")

    @staticmethod
    def _unauthorized(message: str, basic: bool = True) -> Response:
        """401 carries no credential headers: the caller is nobody yet (ref §1 "Bad credentials")."""
        response = _error(401, message)
        if basic:
            response.headers["WWW-Authenticate"] = BASIC_REALM
        return response

    def _workspace(self, call: _Call, slug: str) -> Workspace | Response:
        """ref §1b: an access token is valid only in its own workspace; unknown workspaces are 404."""
        if call.credential.kind == "access_token" and slug != call.credential.token_workspace:
            return _error(403, NOT_ACCESSIBLE)
        workspace = self.state.workspaces.get(slug)
        if workspace is None:
            return _error(404, f"No workspace with identifier '{slug}'.")
        return workspace

    @staticmethod
    def _visible_repositories(credential: Credential, workspace: Workspace) -> list[Repository]:
        """What the credential can read: its own repository (RAT), project (PAT), or all (ref §1b)."""
        if not credential.is_member(workspace):
            return []
        repositories = sorted(workspace.repositories.values(), key=_slug)
        if credential.token_repository:
            return [r for r in repositories if r.slug == credential.token_repository]
        if credential.token_project:
            return [r for r in repositories if r.project_key == credential.token_project]
        return repositories

    @staticmethod
    def _visible_projects(credential: Credential, workspace: Workspace) -> list[Project]:
        projects = sorted(workspace.projects.values(), key=lambda p: p.key)
        if credential.token_repository:
            return []
        if credential.token_project:
            return [p for p in projects if p.key == credential.token_project]
        return projects

    def _page(self, call: _Call, values: list[dict[str, Any]]) -> Response:
        """ref §3 "Pagination": values, next (absent on the last page), previous, page, pagelen, size."""
        request = call.request
        try:
            pagelen = int(request.arg("pagelen") or DEFAULT_PAGELEN)
            page = int(request.arg("page") or 1)
        except ValueError:
            return _error(400, "Invalid pagelen or page: integers expected.")
        if not MIN_PAGELEN <= pagelen <= MAX_PAGELEN or page < 1:
            return _error(
                400, f"Invalid pagelen or page: pagelen is {MIN_PAGELEN} to {MAX_PAGELEN}, page at least 1."
            )
        start = (page - 1) * pagelen
        payload: dict[str, Any] = {
            "values": values[start : start + pagelen],
            "pagelen": pagelen,
            "page": page,
            "size": len(values),
        }
        query = {k: v[0] for k, v in request.query.items()}
        here = f"{call.api.removesuffix('/2.0')}{request.path}"
        if start + pagelen < len(values):
            payload["next"] = f"{here}?{urlencode({**query, 'page': str(page + 1)})}"
        if page > 1:
            payload["previous"] = f"{here}?{urlencode({**query, 'page': str(page - 1)})}"
        return _json(200, payload)

    # ------------------------------------------------------------------ endpoints
    def _user(self, call: _Call) -> Response:
        """ref §1a "Validation endpoint: GET /2.0/user": 200 returns an `account` object."""
        assert call.credential.account is not None
        return _json(200, call.credential.account.to_api(call.api))

    def _user_workspaces(self, call: _Call) -> Response:
        """ref §1a: `workspace_access` items with `administrator` true/false and a `workspace_base`.

        Query parameters as the SPEC lists them: ``sort`` and ``administrator`` (true/false filters);
        others, such as the ``role`` of the removed ``/2.0/workspaces``, are ignored, not refused.
        """
        credential = call.credential
        wanted = (call.request.arg("administrator") or "").lower()
        if wanted not in ("", "true", "false"):
            return _error(400, f"Invalid administrator '{wanted}': use true or false.")
        values = []
        for ws in sorted(self.state.workspaces.values(), key=lambda w: w.slug):
            if not credential.is_member(ws):
                continue
            administrator = ws.slug in credential.admin_workspaces
            if wanted and administrator != (wanted == "true"):
                continue
            values.append(
                {"type": "workspace_access", "administrator": administrator, "workspace": ws.reference(call.api)}
            )
        return self._page(call, values)

    def _permission(self, call: _Call, workspace: str) -> Response:
        """ref §1a: role owner / create-project / member / collaborator; 403 without access."""
        found = self.state.workspaces.get(workspace)
        credential = call.credential
        if found is None or not credential.is_member(found):
            return _error(403, "Forbidden")
        assert credential.account is not None
        role = "owner" if workspace in credential.admin_workspaces else "member"
        return _json(
            200,
            {
                "type": "workspace_membership",
                "permission": role,
                "user": credential.account.to_api(call.api),
                "workspace": found.to_api(call.api),
                "links": {"self": _link(f"{call.api}/workspaces/{workspace}/members/{credential.account.uuid}")},
            },
        )

    def _workspace_object(self, call: _Call, workspace: str) -> Response:
        """GET /2.0/workspaces/{workspace}: the SPEC `workspace`; unknown or not visible -> 404."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if not call.credential.is_member(found):
            return _error(404, f"No workspace with identifier '{workspace}'.")
        return _json(200, found.to_api(call.api))

    def _repositories(self, call: _Call, workspace: str) -> Response:
        """ref §1a: the per-workspace replacement of /2.0/repositories, with role= and q=."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        role = call.request.arg("role")
        # The SPEC's role enum: admin, contributor, member, owner.
        if role not in (None, "member", "contributor", "admin", "owner"):
            return _error(400, f"Invalid role '{role}': use member, contributor, admin or owner.")
        repositories = self._visible_repositories(call.credential, found)
        if role in ("admin", "owner") and workspace not in call.credential.admin_workspaces:
            repositories = []
        query = call.request.arg("q")
        if query:
            parsed = QUERY_RE.match(query)
            if parsed is None:
                # [emulator choice] only `project.key|slug|name = "..."` filters are understood.
                return _error(400, f"Invalid query: {query}")
            field_name, wanted = parsed.group("field"), parsed.group("value")
            attribute = {"project.key": "project_key", "slug": "slug", "name": "name"}[field_name]
            repositories = [r for r in repositories if getattr(r, attribute) == wanted]
        return self._page(call, [r.to_api(found, call.api) for r in repositories])

    def _find_repository(self, call: _Call, workspace: str, repo_slug: str) -> tuple[Workspace, Repository] | Response:
        """ref §1b "Responses": 404 = not found or not visible (e.g. outside a repository token's repository)."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        for repository in self._visible_repositories(call.credential, found):
            if repository.slug == repo_slug:
                return found, repository
        return _error(404, REPOSITORY_NOT_FOUND)

    def _repository(self, call: _Call, workspace: str, repo_slug: str) -> Response:
        """ref §1b: the RAT validation endpoint; needs read:repository:bitbucket / repository (ref §1a table)."""
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        ws, repository = found
        return _json(200, repository.to_api(ws, call.api))

    def _pullrequests(self, call: _Call, workspace: str, repo_slug: str) -> Response:
        """ref §1b "Pull requests, for any type"; needs read:pullrequest:bitbucket / pullrequest (ref §1a table).

        ``state`` filters as the SPEC's enum says; every emulated pull request is OPEN, the default.
        """
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        states = {s.upper() for s in call.request.query.get("state", [])} or {"OPEN"}
        unknown = states - {"OPEN", "MERGED", "DECLINED", "SUPERSEDED"}
        if unknown:
            return _error(400, f"Invalid state {', '.join(sorted(unknown))}: use OPEN, MERGED, DECLINED or SUPERSEDED.")
        ws, repository = found
        numbers = range(1, len(repository.pullrequests) + 1) if "OPEN" in states else range(0)
        return self._page(call, [repository.pull_request(ws, number, call.api) for number in numbers])

    def _pullrequest(self, call: _Call, workspace: str, repo_slug: str, pull_request_id: str) -> Response:
        """One pull request by id; an id that is not a listed pull request is 404."""
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        ws, repository = found
        if not pull_request_id.isdigit() or not 1 <= int(pull_request_id) <= len(repository.pullrequests):
            return _error(404, f"Pull request {pull_request_id} not found.")
        return _json(200, repository.pull_request(ws, int(pull_request_id), call.api))

    def _projects(self, call: _Call, workspace: str) -> Response:
        """ref §1a table / §2: needs read:project:bitbucket / project; a PAT sees only its own project."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if not call.credential.is_member(found):
            # ref §1 "Other 403 bodies": a plain Forbidden for non-members.
            return _error(403, "Forbidden")
        projects = self._visible_projects(call.credential, found)
        return self._page(call, [p.to_api(found, call.api) for p in projects])

    def _project(self, call: _Call, workspace: str, project_key: str) -> Response:
        """ref §1b: the PAT validation endpoint; a project outside the token's project is 404."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if call.credential.is_member(found):
            for project in self._visible_projects(call.credential, found):
                if project.key == project_key:
                    return _json(200, project.to_api(found, call.api))
        return _error(404, f"Project {project_key} not found or not accessible.")


__all__ = [
    "CHANGE_2770_BODY",
    "JSON_CONTENT_TYPE",
    "LACKS_SCOPES",
    "NOT_ACCESSIBLE",
    "TOKEN_INVALID",
    "BitbucketApi",
    "BitbucketState",
    "classic_closure",
    "secret_fingerprint",
]
