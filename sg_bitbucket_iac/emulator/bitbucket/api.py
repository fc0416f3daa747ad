"""The emulated Bitbucket's routes: the ``/2.0`` endpoints a credential preflight and real clients call.

Each endpoint is registered with the scopes it requires (``access.py`` checks them before the
endpoint runs) and answers in the spec's shapes (``objects.py``, ``answers.py``). Endpoint
sources: docs/evidence.md#bitbucket-scopes (which endpoint needs which scope) and
docs/evidence.md#bitbucket-error-and-status-shapes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from ..core import EmulatedClock, Request, Response, Router
from .access import (
    PROJECT_SCOPES,
    PULLREQUEST_SCOPES,
    REPOSITORY_SCOPES,
    USER_SCOPES,
    USER_WORKSPACES_SCOPES,
    WORKSPACE_SCOPES,
    Call,
    EndpointScopes,
    authorize,
)
from .answers import NOT_ACCESSIBLE, REPOSITORY_NOT_FOUND, error_answer, gone, json_answer, page
from .objects import Repository, Workspace
from .state import BitbucketState

# [emulator choice] only `project.key|slug|name = "..."` filters of the `q` language are understood.
QUERY_RE = re.compile(r'^\s*(?P<field>project\.key|slug|name)\s*=\s*"(?P<value>[^"]*)"\s*$')
QUERY_ATTRIBUTES = {"project.key": "project_key", "slug": "slug", "name": "name"}
# The cross-workspace endpoints removed by CHANGE-2770: only their 410 is served.
REMOVED_BY_CHANGE_2770 = ("/2.0/repositories", "/2.0/workspaces", "/2.0/user/permissions/repositories")
# The spec's enums for `role` (repositories) and `state` (pull requests).
ROLES = ("member", "contributor", "admin", "owner")
PULL_REQUEST_STATES = frozenset({"OPEN", "MERGED", "DECLINED", "SUPERSEDED"})

Endpoint = Callable[..., Response]


class BitbucketApi:
    """``handle(request) -> (route template, response)`` for paths under ``/2.0``."""

    def __init__(self, state: BitbucketState, clock: EmulatedClock, lock: threading.RLock) -> None:
        self.state = state
        self.clock = clock
        self.lock = lock
        self.router = Router()
        self.scopes: dict[str, EndpointScopes] = {}  # by route; the tests hold them against the spec
        for path in REMOVED_BY_CHANGE_2770:
            self.router.add("GET", path, lambda request, **_: gone())
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
            return f"{request.method} (unknown)", error_answer(404, f"Resource not found: {request.path}")
        template, handler, params = match
        with self.lock:
            return template, handler(request=request, **params)

    # ------------------------------------------------------------------ plumbing
    def _add(self, template: str, scopes: EndpointScopes, endpoint: Endpoint) -> None:
        self.scopes[f"GET {template}"] = scopes

        def guarded(request: Request, **params: str) -> Response:
            outcome = authorize(request, self.state, scopes, self.clock.now())
            if isinstance(outcome, Response):
                return outcome
            return outcome.with_headers(endpoint(outcome, **params))

        self.router.add("GET", template, guarded)

    def _workspace(self, call: Call, slug: str) -> Workspace | Response:
        """An access token is valid only in its own workspace (403); unknown workspaces are 404."""
        if call.credential.kind == "access_token" and slug != call.credential.token_workspace:
            return error_answer(403, NOT_ACCESSIBLE)
        workspace = self.state.workspaces.get(slug)
        if workspace is None:
            return error_answer(404, f"No workspace with identifier '{slug}'.")
        return workspace

    def _find_repository(self, call: Call, workspace: str, repo_slug: str) -> tuple[Workspace, Repository] | Response:
        """404 = not found or not visible (e.g. outside a repository token's repository)."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        for repository in call.credential.visible_repositories(found):
            if repository.slug == repo_slug:
                return found, repository
        return error_answer(404, REPOSITORY_NOT_FOUND)

    # ------------------------------------------------------------------ endpoints
    def _user(self, call: Call) -> Response:
        """The validation endpoint of user credentials: 200 returns an `account` object."""
        assert call.credential.account is not None
        return json_answer(200, call.credential.account.to_api(call.api))

    def _user_workspaces(self, call: Call) -> Response:
        """`workspace_access` items with `administrator` true/false and a `workspace_base`.

        Query parameters as the spec lists them: ``sort`` and ``administrator`` (true/false filters);
        others, such as the ``role`` of the removed ``/2.0/workspaces``, are ignored, not refused.
        """
        credential = call.credential
        wanted = (call.request.arg("administrator") or "").lower()
        if wanted not in ("", "true", "false"):
            return error_answer(400, f"Invalid administrator '{wanted}': use true or false.")
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
        return page(call.request, call.api, values)

    def _permission(self, call: Call, workspace: str) -> Response:
        """Role owner / create-project / member / collaborator; 403 without access."""
        found = self.state.workspaces.get(workspace)
        credential = call.credential
        if found is None or not credential.is_member(found):
            return error_answer(403, "Forbidden")
        assert credential.account is not None
        role = "owner" if workspace in credential.admin_workspaces else "member"
        return json_answer(200, found.membership(credential.account, call.api, role))

    def _workspace_object(self, call: Call, workspace: str) -> Response:
        """GET /2.0/workspaces/{workspace}: the spec `workspace`; unknown or not visible -> 404."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if not call.credential.is_member(found):
            return error_answer(404, f"No workspace with identifier '{workspace}'.")
        return json_answer(200, found.to_api(call.api))

    def _repositories(self, call: Call, workspace: str) -> Response:
        """The per-workspace replacement of the removed /2.0/repositories, with role= and q=."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        role = call.request.arg("role")
        if role is not None and role not in ROLES:
            return error_answer(400, f"Invalid role '{role}': use member, contributor, admin or owner.")
        repositories = call.credential.visible_repositories(found)
        if role in ("admin", "owner") and workspace not in call.credential.admin_workspaces:
            repositories = []
        query = call.request.arg("q")
        if query:
            parsed = QUERY_RE.match(query)
            if parsed is None:
                return error_answer(400, f"Invalid query: {query}")
            attribute, wanted = QUERY_ATTRIBUTES[parsed.group("field")], parsed.group("value")
            repositories = [r for r in repositories if getattr(r, attribute) == wanted]
        return page(call.request, call.api, [r.to_api(found, call.api) for r in repositories])

    def _repository(self, call: Call, workspace: str, repo_slug: str) -> Response:
        """The repository token's validation endpoint; needs read:repository:bitbucket / repository."""
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        ws, repository = found
        return json_answer(200, repository.to_api(ws, call.api))

    def _pullrequests(self, call: Call, workspace: str, repo_slug: str) -> Response:
        """Pull requests, for any credential; needs read:pullrequest:bitbucket / pullrequest.

        ``state`` filters as the spec's enum says; every emulated pull request is OPEN, the default.
        """
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        states = {s.upper() for s in call.request.query.get("state", [])} or {"OPEN"}
        unknown = states - PULL_REQUEST_STATES
        if unknown:
            return error_answer(
                400, f"Invalid state {', '.join(sorted(unknown))}: use OPEN, MERGED, DECLINED or SUPERSEDED."
            )
        ws, repository = found
        numbers = range(1, len(repository.pullrequests) + 1) if "OPEN" in states else range(0)
        return page(call.request, call.api, [repository.pull_request(ws, number, call.api) for number in numbers])

    def _pullrequest(self, call: Call, workspace: str, repo_slug: str, pull_request_id: str) -> Response:
        """One pull request by id; an id that is not a listed pull request is 404."""
        found = self._find_repository(call, workspace, repo_slug)
        if isinstance(found, Response):
            return found
        ws, repository = found
        if not pull_request_id.isdigit() or not 1 <= int(pull_request_id) <= len(repository.pullrequests):
            return error_answer(404, f"Pull request {pull_request_id} not found.")
        return json_answer(200, repository.pull_request(ws, int(pull_request_id), call.api))

    def _projects(self, call: Call, workspace: str) -> Response:
        """Needs read:project:bitbucket / project; a project token sees only its own project."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if not call.credential.is_member(found):
            return error_answer(403, "Forbidden")  # a plain Forbidden for non-members
        projects = call.credential.visible_projects(found)
        return page(call.request, call.api, [p.to_api(found, call.api) for p in projects])

    def _project(self, call: Call, workspace: str, project_key: str) -> Response:
        """The project token's validation endpoint; a project outside the token's project is 404."""
        found = self._workspace(call, workspace)
        if isinstance(found, Response):
            return found
        if call.credential.is_member(found):
            for project in call.credential.visible_projects(found):
                if project.key == project_key:
                    return json_answer(200, project.to_api(found, call.api))
        return error_answer(404, f"Project {project_key} not found or not accessible.")
