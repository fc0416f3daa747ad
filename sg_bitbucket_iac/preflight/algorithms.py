"""The three probe algorithms (docs/evidence.md#preflight-algorithm), one per auth type.

Each auth class names its algorithm in its preflight profile (model.py); :data:`ALGORITHMS` maps
the name to the code. What the date means for an app password is not a probe: it is decided
before any is sent (engine/precheck.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..bitbucket import (
    ProbeResponse,
    project_path,
    projects_path,
    repositories_path,
    user_path,
    user_workspaces_path,
)
from ..identifiers import Identifier
from ..model import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth
from .result import Identity, Outcome, unique
from .run import ProbeRun, Wording
from .scopes import LEVEL_ORDER, PLATFORM_SCOPES, TOKEN_LEVELS

WORKSPACE_PAGES = 3  # "following next, at most 3 pages"


# --------------------------------------------------------------------------- API tokens and app passwords
def _probe_user_credential(
    run: ProbeRun, username: str, repositories: Sequence[str], who: str, expected_type: str
) -> None:
    """Steps 2-6 of docs/evidence.md#preflight-of-an-api-token; app passwords run 2-5 with classic names (the guide
    asks Pull requests: Read of API tokens only)."""
    ws = run.workspace
    workspace_wording = Wording(f"workspace {ws} not found or not accessible (check the slug).")
    response = run.scope_probe(
        "identity", "user", user_path(), {}, Wording("GET /user answered 404: the Bitbucket API URL must end in /2.0.")
    )
    if run.halted:
        return
    if response is not None:
        body = response.body if isinstance(response.body, dict) else {}
        run.identity = Identity(body.get("username"), body.get("display_name"), body.get("uuid"))
        names = {str(body[k]).lower() for k in ("username", "nickname") if body.get(k)}
        if names and username.lower() not in names:
            account = body.get("username") or body.get("nickname")
            run.warn(
                "username_match",
                f"Git user name {username} does not match the credential's account {account}; git clone may fail.",
                response,
            )
    if run.credential_type and run.credential_type != expected_type:
        run.warn(
            "credential_type",
            f"Bitbucket reports credential type {run.credential_type!r}, not "
            f"{expected_type!r}: this looks like a different credential type.",
        )

    pullrequest_probe = 1 if run.asks_pullrequests else 0
    _check_membership(run, who, reserve=2 + pullrequest_probe + len(repositories))

    listing = run.scope_probe(
        "repository_read",
        "repository",
        repositories_path(ws),
        {"pagelen": "10", "role": "member"},
        workspace_wording,
    )
    if listing is not None and not listing.values():
        message = f"{who} can see no repositories in {ws}."
        if repositories:
            run.add("repositories_visible", Outcome.NOT_FOUND_OR_NO_ACCESS, message, listing)
        else:
            run.warn("repositories_visible", message, listing)
    confirmed = run.repositories(
        repositories, listing, Wording("not found or not accessible."), reserve=1 + pullrequest_probe
    )

    run.scope_probe(
        "project_read",
        "project",
        projects_path(ws),
        {"pagelen": "10"},
        replace(
            workspace_wording,
            forbidden=f"{who} may not list the projects of workspace {ws} (403 Forbidden): not a member?",
        ),
    )
    discovered = _slugs(listing)
    target = next(iter(confirmed), None) or (None if repositories else next(iter(discovered), None))
    run.pullrequests(target, f"no accessible repository in {ws} to probe")


def _slugs(listing: ProbeResponse | None) -> list[str]:
    """The repository slugs a listing shows that may be probed: one Bitbucket returns that breaks the
    slug rule would reach another endpoint, so it is never probed."""
    slugs = [str(v.get("slug")) for v in listing.values()] if listing else []
    return [slug for slug in slugs if Identifier.REPOSITORY.is_valid(slug)]


def _check_membership(run: ProbeRun, who: str, reserve: int) -> None:
    """API-token step 3: the target workspace is among /user/workspaces (at most 3 pages, within the budget)."""
    ws = run.workspace
    name = "workspace_membership"
    wording = Wording("GET /user/workspaces answered 404: the Bitbucket API URL must end in /2.0.")
    response = run.get(name, user_workspaces_path(), {"pagelen": "100"})
    pages = 1
    seen: set[str] = set()
    while run.answer(name, response, run.probe_scopes["workspace"], wording):
        assert response is not None
        seen |= {str((v.get("workspace") or {}).get("slug")) for v in response.values()}
        if ws in seen:
            run.add(name, Outcome.OK, f"{who} is a member of workspace {ws}.", response)
            return
        next_url = response.next_url()
        if next_url is None:
            message = f"Account {who} is not a member of workspace {ws} (or the slug is wrong)."
            run.add(name, Outcome.NOT_FOUND_OR_NO_ACCESS, message, response)
            return
        if pages >= WORKSPACE_PAGES or run.client.remaining <= reserve or not run.client.may_follow(next_url):
            run.warn(
                name,
                f"workspace {ws} is not among the first {len(seen)} workspaces of {who}; membership "
                "not confirmed within the request budget.",
                response,
            )
            return
        response = run.get(name, next_url)
        pages += 1


def _platform_scopes_check(run: ProbeRun) -> None:
    """API-token step 7: read:account / read:me are Atlassian platform scopes no Bitbucket answer can prove."""
    absent = [s for s in PLATFORM_SCOPES if run.granted is not None and s not in run.granted]
    text = "read:account and read:me (StackGuardian's Account: Read and Me: Read) are Atlassian platform scopes"
    if absent:
        # Not a warning: the README's own scope list leaves them out on purpose (no Bitbucket endpoint
        # needs them), and a warning on every command for a choice the user made is noise.
        run.add(
            "platform_scopes",
            Outcome.NOT_VERIFIABLE,
            f"{text}; Bitbucket's x-oauth-scopes does not list {', '.join(absent)}. No "
            "Bitbucket endpoint needs them; add them only if StackGuardian asks for them.",
        )
    else:
        run.add("platform_scopes", Outcome.NOT_VERIFIABLE, f"{text}: not verifiable on api.bitbucket.org.")


def api_token_preflight(run: ProbeRun, auth: ApiTokenAuth, repositories: Sequence[str]) -> None:
    """docs/evidence.md#preflight-of-an-api-token: Basic email:token; five scopes, each probed on its own endpoint.

    The email and username formats are the model's rules, checked before preflight can run.
    """
    _probe_user_credential(run, auth.username, repositories, auth.email, "api_token")
    run.judge_row()
    if not run.halted:
        _platform_scopes_check(run)


def app_password_preflight(run: ProbeRun, auth: AppPasswordAuth, repositories: Sequence[str]) -> None:
    """The app-password probes: the API token's, with classic scope names (the timeline gate is the date policy's).

    The guide asks Account: Read and Projects: Read, nothing else: no pull-request probe, no Workspace
    membership (`team`).
    """
    _probe_user_credential(run, auth.username, repositories, auth.username, "app_password")
    run.judge_row()


# --------------------------------------------------------------------------- access tokens
def access_token_preflight(run: ProbeRun, auth: AccessTokenAuth, repositories: Sequence[str]) -> None:
    """docs/evidence.md#preflight-of-an-access-token: Bearer; confined to one repository, project or workspace."""
    ws = run.workspace
    configured = unique([r for r in (auth.repository, *repositories) if r])
    outside = (
        "is outside this token's scope or does not exist (a repository access token only sees its own repository)."
    )
    wording = Wording(
        not_found=f"workspace {ws} not found or not accessible (check the slug).",
        forbidden=(
            f"This access token does not belong to workspace {ws} (Bitbucket: 'This API is not accessible by this "
            "authentication mechanism'); access tokens work only in the workspace they were created in."
        ),
        halt_on_forbidden=True,
    )
    listing: ProbeResponse | None = None
    if auth.scope == "repository" and len(configured) > 1:
        run.add(
            "coverage",
            Outcome.FORBIDDEN,
            f"A repository access token can access only {ws}/{auth.repository}; use a project/workspace "
            "access token or an API token.",
        )
    if auth.scope == "project":
        run.scope_probe(
            "project_read",
            "project",
            project_path(ws, str(auth.project)),
            {},
            replace(wording, not_found=f"Project {auth.project} {outside}"),
        )
    if auth.scope != "repository":
        params = {"q": f'project.key="{auth.project}"'} if auth.scope == "project" else {}
        listing = run.scope_probe(
            "repository_read", "repository", repositories_path(ws), {**params, "pagelen": "10"}, wording
        )
    if auth.scope == "workspace":
        run.scope_probe("project_read", "project", projects_path(ws), {"pagelen": "10"}, wording)
    # A repository token's first call is its own repository (access-token step 2), checked like any configured one.
    run.repositories(configured, listing, replace(wording, not_found=outside), reserve=0)
    _check_token_level(run, auth.scope)
    run.judge_row()  # a workspace token's Account: Read, from the scopes Bitbucket reports
    run.add(
        "user_scopes",
        Outcome.NOT_VERIFIABLE,
        "Me, User and Workspace: Read are API-token permissions; they do not apply to access tokens (tokens are "
        "not users).",
    )


def _check_token_level(run: ProbeRun, declared: str) -> None:
    """Access-token step 4: the token covers what the connector declares (narrower fails, wider warns)."""
    detected = TOKEN_LEVELS.get(run.credential_type or "")
    if detected is None or detected == declared:
        return
    text = (
        f"Bitbucket reports a {detected} access token ({run.credential_type}) but the connector declares "
        f"scope {declared}"
    )
    if LEVEL_ORDER.index(detected) < LEVEL_ORDER.index(declared):
        run.add(
            "token_type",
            Outcome.WRONG_CREDENTIAL_TYPE,
            f"{text}; a {detected} token cannot cover the whole {declared}: set scope: {detected} (naming its "
            f"{detected}), or create a {declared} access token.",
        )
    else:
        run.warn("token_type", f"{text}; it can see more than declared: set scope: {detected} to describe it.")


# The probe sequence each auth class names in its preflight profile.
ALGORITHMS: dict[str, Callable[[ProbeRun, Any, Sequence[str]], None]] = {
    "api_token": api_token_preflight,
    "access_token": access_token_preflight,
    "app_password": app_password_preflight,
}
