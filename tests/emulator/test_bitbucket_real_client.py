"""The emulated Bitbucket against a real client from PyPI and against Atlassian's published spec.

`atlassian-python-api` (its `Cloud` client, unchanged) walks the emulator as it walks
api.bitbucket.org: the current user, workspaces and membership, projects, repositories, pull
requests, pagination and the error bodies. Every answer the emulator gives along the way, and in
`test_every_emulated_operation_answers_as_the_spec_says`, is validated against the spec subset
(schemas and status codes, see `bitbucket_spec.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from atlassian.bitbucket import Cloud
from bitbucket_spec import EXTRA_OPERATIONS, SPEC, SpecCheck, operation_of

from sg_bitbucket_iac.emulator import Emulator

READ_SCOPES = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
               "read:project:bitbucket", "read:pullrequest:bitbucket"]
EMAIL, TOKEN = "alice@acme.io", "alice-api-token"
TIMEOUT = 30


@pytest.fixture
def spec(emulator: Emulator) -> Iterator[SpecCheck]:
    """Workspace `acme` (3 projects, 12 repositories, pull requests on `infra`) and an API token;
    every Bitbucket answer in the test is checked against the spec, and none may fail."""
    check = SpecCheck.of(emulator)  # attached by the shared emulator fixture
    emulator.admin("POST", "/bitbucket/workspaces", {
        "slug": "acme", "name": "Acme Corp",
        "projects": [{"key": "INF", "name": "Infrastructure"}, {"key": "APP"}, {"key": "OPS"}],
        "repositories": [{"slug": "infra", "project": "INF", "pullrequests": ["Bump provider", "Add module"]},
                         *({"slug": f"app-{i:02d}", "project": "APP"} for i in range(11))],
    })
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "side", "repositories": [{"slug": "tools"}]})
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "elsewhere", "repositories": [{"slug": "x"}]})
    emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": TOKEN, "email": EMAIL, "username": "alice",
        "scopes": READ_SCOPES, "workspaces": ["acme", "side"], "admin_workspaces": ["acme"]})
    yield check
    assert check.problems == []


def cloud(emulator: Emulator, username: str = EMAIL, password: str = TOKEN) -> Cloud:
    return Cloud(url=emulator.bitbucket_url.removesuffix("/2.0"), username=username, password=password,
                 timeout=TIMEOUT)


# --------------------------------------------------------------------------- the real client
def test_current_user(emulator: Emulator, spec: SpecCheck) -> None:
    user = cloud(emulator).get("user")
    assert (user["type"], user["username"], user["display_name"]) == ("user", "alice", "Alice")
    assert user["links"]["self"]["href"].startswith(emulator.bitbucket_url)


def test_workspaces_each_get_exists_and_membership(emulator: Emulator, spec: SpecCheck) -> None:
    client = cloud(emulator)
    workspaces = list(client.workspaces.each())
    assert [w.slug for w in workspaces] == ["acme", "side"]
    assert workspaces[0].name == "Acme Corp" and workspaces[0].is_private is True
    assert [w.slug for w in client.workspaces.each(administrator=True)] == ["acme"]
    assert client.workspaces.exists("acme") and not client.workspaces.exists("nowhere")
    assert client.workspaces.get("side").uuid.startswith("{")
    permission = client.get("user/workspaces/acme/permission")
    assert (permission["type"], permission["permission"]) == ("workspace_membership", "owner")
    assert client.get("user/workspaces/side/permission")["permission"] == "member"


def test_projects_through_the_workspace_links(emulator: Emulator, spec: SpecCheck) -> None:
    workspace = cloud(emulator).workspaces.get("acme")
    assert [p.key for p in workspace.projects.each()] == ["APP", "INF", "OPS"]
    infra = workspace.projects.get("INF")
    assert (infra.name, infra.is_private) == ("Infrastructure", True)
    assert workspace.projects.exists("OPS") and not workspace.projects.exists("NOPE")


def test_repositories_pagination_and_pull_requests_by_links(emulator: Emulator, spec: SpecCheck) -> None:
    client = cloud(emulator)
    workspace = client.workspaces.get("acme")
    # 12 repositories in pages of 10, then by `next` links (pagelen 1 is allowed by the spec).
    assert len(list(workspace.repositories.each())) == 12
    assert [r.slug for r in workspace.repositories.each(q='project.key="INF"', role="member")] == ["infra"]
    assert len(list(client._get_paged("repositories/acme", params={"pagelen": 1}))) == 12
    repository = client.repositories.get("acme", "infra")
    assert (repository.name, repository.is_private, repository.get_data("project")["key"]) == ("infra", True, "INF")
    pull_requests = list(repository.pullrequests.each())  # the list, then each by id, by links.self
    assert [(pr.id, pr.title, pr.is_open) for pr in pull_requests] == [(1, "Bump provider", True),
                                                                      (2, "Add module", True)]
    assert pull_requests[0].destination_branch == "main"
    assert pull_requests[0].get_data("destination")["repository"]["type"] == "repository"
    assert repository.pullrequests.get(2).source_branch == "feature/pr-2"
    assert workspace.repositories.get("infra").slug == "infra"
    assert workspace.repositories.exists("infra") and not workspace.repositories.exists("absent")


def test_error_bodies_reach_the_client_as_bitbucket_words(emulator: Emulator, spec: SpecCheck) -> None:
    with pytest.raises(requests.HTTPError) as wrong_password:
        cloud(emulator, password="wrong").get("user")
    assert wrong_password.value.response.status_code == 401
    assert "Token is invalid, expired, or not supported" in str(wrong_password.value)
    emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": "narrow", "email": "bob@acme.io", "scopes": ["read:user:bitbucket"],
        "workspaces": ["acme"]})
    with pytest.raises(requests.HTTPError) as missing_scope:
        list(cloud(emulator, "bob@acme.io", "narrow").workspaces.each())
    assert missing_scope.value.response.status_code == 403
    # The object `detail` of a privilege-scope 403 (atlassian-python-api issue #1260 crashed on it).
    assert "Your credentials lack one or more required privilege scopes." in str(missing_scope.value)
    assert "read:workspace:bitbucket" in str(missing_scope.value)
    with pytest.raises(requests.HTTPError) as absent:
        cloud(emulator).repositories.get("acme", "absent")
    assert absent.value.response.status_code == 404


def test_removed_cross_workspace_list(emulator: Emulator, spec: SpecCheck) -> None:
    with pytest.raises(requests.HTTPError) as gone:
        list(cloud(emulator).repositories.each())
    assert gone.value.response.status_code == 410
    assert "CHANGE-2770" in str(gone.value)


# --------------------------------------------------------------------------- every operation, every answer
def _raw(emulator: Emulator, path: str, authorization: Any = (EMAIL, TOKEN), **params: Any) -> int:
    url = f"{emulator.bitbucket_url}{path}"
    return requests.get(url, params=params, auth=authorization, timeout=TIMEOUT).status_code


def test_every_emulated_operation_answers_as_the_spec_says(emulator: Emulator, spec: SpecCheck) -> None:
    emulator.admin("POST", "/bitbucket/credentials", {"kind": "access_token", "secret": "rat", "scopes": ["repository"],
                                                      "resource": "acme/infra"})
    emulator.admin("POST", "/bitbucket/credentials", {"kind": "app_password", "secret": "app", "username": "carol",
                                                      "scopes": ["account", "repository", "project", "pullrequest"],
                                                      "workspaces": ["acme"]})
    bearer = {"Authorization": "Bearer rat"}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/user", {}), ("/user/workspaces", {"pagelen": 1}), ("/user/workspaces", {"administrator": "false"}),
        ("/user/workspaces", {"role": "owner"}),
        ("/user/workspaces/acme/permission", {}), ("/user/workspaces/elsewhere/permission", {}),
        ("/workspaces/acme", {}), ("/workspaces/nowhere", {}), ("/workspaces/acme/projects", {"pagelen": 2}),
        ("/workspaces/acme/projects/INF", {}), ("/workspaces/acme/projects/NOPE", {}),
        ("/workspaces/nowhere/projects", {}), ("/workspaces/elsewhere/projects", {}),
        ("/repositories/acme", {"pagelen": 5, "page": 2, "role": "owner"}), ("/repositories/acme", {"pagelen": 0}),
        ("/repositories/acme", {"role": "boss"}), ("/repositories/nowhere", {}),
        ("/repositories/acme/infra", {}), ("/repositories/acme/absent", {}),
        ("/repositories/acme/infra/pullrequests", {"pagelen": 1}),
        ("/repositories/acme/infra/pullrequests", {"state": "MERGED"}),
        ("/repositories/acme/infra/pullrequests", {"state": "LOST"}),
        ("/repositories/acme/infra/pullrequests/1", {}), ("/repositories/acme/infra/pullrequests/9", {}),
        ("/repositories", {}), ("/workspaces", {}), ("/user/permissions/repositories", {}),
    ]
    statuses = {(path, tuple(params.items())): _raw(emulator, path, **params) for path, params in calls}
    assert statuses[("/user/workspaces", (("role", "owner"),))] == 200  # not a spec parameter: ignored
    assert statuses[("/workspaces/nowhere", ())] == 404 and statuses[("/repositories/acme", (("pagelen", 0),))] == 400
    # Other credentials and none: 401 bodies, access-token 403s, app-password Basic auth.
    assert _raw(emulator, "/user", None) == 401
    assert _raw(emulator, "/user", ("bob", "nope")) == 401
    assert requests.get(f"{emulator.bitbucket_url}/user", headers=bearer, timeout=TIMEOUT).status_code == 403
    assert requests.get(f"{emulator.bitbucket_url}/repositories/acme/infra", headers=bearer,
                        timeout=TIMEOUT).status_code == 200
    outside = requests.get(f"{emulator.bitbucket_url}/repositories/side", headers=bearer, timeout=TIMEOUT)
    assert outside.status_code == 403
    emulator.admin("POST", "/clock", {"now": "2026-01-15T12:00:00Z"})  # app passwords still work then
    assert _raw(emulator, "/repositories/acme/infra/pullrequests", ("carol", "app")) == 200
    # Coverage: every operation the emulator routes was answered, and validated, with a 200 when it has one.
    served = emulator.bitbucket.router.templates()  # type: ignore[attr-defined]
    assert set(served) == set(spec.seen)
    for route in served:
        _path, entry = operation_of(route)
        if entry.get("200"):
            assert 200 in spec.seen[route], route
    subset_paths = {path for path, entry in SPEC["operations"].items() if not entry.get("deprecated")}
    assert subset_paths <= {operation_of(route)[0] for route in served}
    assert set(EXTRA_OPERATIONS) <= {operation_of(route)[0] for route in served}


def test_the_scopes_each_operation_requires_are_the_specs(emulator: Emulator) -> None:
    """The emulator's scope table against the subset's `classic` and `token` scopes, operation by operation."""
    table = emulator.bitbucket.scopes  # type: ignore[attr-defined]
    checked = 0
    for route, scopes in table.items():
        path, entry = operation_of(route)
        if path in EXTRA_OPERATIONS:
            continue  # pull requests by id: the same scopes as their list (below)
        assert (list(scopes.classic), list(scopes.api_token)) == (entry["classic"] or [], entry["token"] or []), route
        checked += 1
    assert checked == len(table) - 1
    by_id = table["GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}"]
    assert by_id == table["GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests"]
