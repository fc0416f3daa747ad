"""The emulated Bitbucket API, called directly through ``handle()`` (no HTTP, no product code).

Each group of tests names the section of docs/evidence.md whose facts it pins down.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from sg_bitbucket_iac.emulator.bitbucket import (
    CHANGE_2770_BODY,
    LACKS_SCOPES,
    NOT_ACCESSIBLE,
    TOKEN_INVALID,
    BitbucketApi,
    BitbucketState,
    classic_closure,
    secret_fingerprint,
)
from sg_bitbucket_iac.emulator.core import EmulatedClock, Request, Response

BEFORE_BROWNOUTS = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
API_TOKEN_READ_SCOPES = [
    "read:user:bitbucket",
    "read:workspace:bitbucket",
    "read:repository:bitbucket",
    "read:project:bitbucket",
    "read:pullrequest:bitbucket",
]


class Bitbucket:
    """An emulated Bitbucket with workspace `acme` (projects INF, APP; repositories infra, web, api)."""

    def __init__(self) -> None:
        self.state = BitbucketState()
        self.clock = EmulatedClock(BEFORE_BROWNOUTS)
        self.api = BitbucketApi(self.state, self.clock, threading.RLock())
        self.state.add_workspace(
            {
                "slug": "acme",
                "projects": [{"key": "INF"}, {"key": "APP"}],
                "repositories": [
                    {"slug": "infra", "project": "INF", "pullrequests": ["Bump provider"]},
                    {"slug": "web", "project": "APP"},
                    {"slug": "api", "project": "APP"},
                ],
            }
        )
        self.state.add_workspace({"slug": "other", "projects": [{"key": "OPS"}], "repositories": [{"slug": "ops"}]})

    def credential(self, kind: str, secret: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "secret": secret, "scopes": scopes, **extra}
        if kind != "access_token":
            body.setdefault("workspaces", ["acme"])
        return self.state.add_credential(body)

    def get(self, path: str, authorization: str | None = None) -> Response:
        return self.call(path, authorization)[1]

    def call(self, path: str, authorization: str | None = None) -> tuple[str, Response]:
        headers = {"Host": "127.0.0.1:7990"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return self.api.handle(Request.build("GET", path, headers))


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def bearer(secret: str) -> str:
    return "Bearer " + secret


def body(response: Response) -> Any:
    return json.loads(response.body)


def error_message(response: Response) -> str:
    return str(body(response)["error"]["message"])


@pytest.fixture
def bb() -> Bitbucket:
    return Bitbucket()


# ------------------------ API tokens: docs/evidence.md#bitbucket-authentication-per-credential-kind
def test_api_token_as_basic_email_reads_the_user_with_credential_headers(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="alice@acme.io", username="alice")
    route, response = bb.call("/2.0/user", basic("alice@acme.io", "tok"))
    assert route == "GET /2.0/user"
    assert response.status == 200
    assert body(response)["username"] == "alice"
    assert body(response)["uuid"].startswith("{")
    # Credential headers: granted as granted, comma + space; the endpoint's scope in its classic name (as a
    # public capture shows for API tokens); the credential type.
    assert response.headers["x-oauth-scopes"] == ", ".join(API_TOKEN_READ_SCOPES)
    assert response.headers["x-accepted-oauth-scopes"] == "account"
    assert response.headers["x-credential-type"] == "api_token"


@pytest.mark.parametrize(
    "authorization",
    [basic("alice", "tok"), basic("x-bitbucket-api-token-auth", "tok"), bearer("tok")],
    ids=["username", "git-static-user", "bearer"],
)
def test_api_token_works_only_as_basic_email(bb: Bitbucket, authorization: str) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="alice@acme.io", username="alice")
    response = bb.get("/2.0/user", authorization)
    assert response.status == 401
    assert body(response) == {"type": "error", "error": {"message": TOKEN_INVALID}}
    assert "x-credential-type" not in response.headers


@pytest.mark.parametrize("scopes", [[], ["read:jira-work", "read:account"]], ids=["unscoped", "jira-only"])
def test_api_token_without_bitbucket_scopes_is_invalid(bb: Bitbucket, scopes: list[str]) -> None:
    bb.credential("api_token", "tok", scopes, email="alice@acme.io")
    response = bb.get("/2.0/user", basic("alice@acme.io", "tok"))
    assert (response.status, error_message(response)) == (401, TOKEN_INVALID)


def test_api_token_expiry_follows_the_emulated_clock(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="alice@acme.io", expires_at="2026-02-01T00:00:00Z")
    assert bb.get("/2.0/user", basic("alice@acme.io", "tok")).status == 200
    bb.clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    response = bb.get("/2.0/user", basic("alice@acme.io", "tok"))
    assert (response.status, error_message(response)) == (401, TOKEN_INVALID)


def test_revoking_by_fingerprint_gives_401(bb: Bitbucket) -> None:
    secret = "ATATT-revocable-1234"
    created = bb.credential("api_token", secret, API_TOKEN_READ_SCOPES, email="alice@acme.io")
    assert created["fingerprint"] == secret_fingerprint(secret)
    assert secret not in json.dumps(created)
    bb.state.patch_credential(created["fingerprint"], {"revoked": True})
    assert bb.get("/2.0/user", basic("alice@acme.io", secret)).status == 401
    bb.state.patch_credential(secret, {"revoked": False})
    assert bb.get("/2.0/user", basic("alice@acme.io", secret)).status == 200


def test_missing_scope_403_has_detail_object_and_headers(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", ["read:user:bitbucket", "read:repository:bitbucket"], email="alice@acme.io")
    response = bb.get("/2.0/workspaces/acme/projects", basic("alice@acme.io", "tok"))
    assert response.status == 403
    assert body(response) == {
        "type": "error",
        "error": {
            "message": LACKS_SCOPES,
            "detail": {
                "required": ["read:project:bitbucket"],
                "granted": ["read:user:bitbucket", "read:repository:bitbucket"],
            },
        },
    }
    assert response.headers["x-oauth-scopes"] == "read:user:bitbucket, read:repository:bitbucket"
    assert response.headers["x-accepted-oauth-scopes"] == "project"  # classic name, as captured
    assert response.headers["x-credential-type"] == "api_token"


def test_api_token_scopes_do_not_imply_each_other(bb: Bitbucket) -> None:
    """write:repository:bitbucket does not give read:repository:bitbucket (docs/evidence.md#bitbucket-scopes)."""
    bb.credential("api_token", "tok", ["write:repository:bitbucket", "read:user:bitbucket"], email="a@acme.io")
    response = bb.get("/2.0/repositories/acme", basic("a@acme.io", "tok"))
    assert response.status == 403
    assert body(response)["error"]["detail"]["required"] == ["read:repository:bitbucket"]


@pytest.mark.parametrize("endpoint", ["/2.0/user/workspaces", "/2.0/user/workspaces/acme/permission"])
def test_workspace_endpoints_need_read_workspace(bb: Bitbucket, endpoint: str) -> None:
    bb.credential("api_token", "tok", ["read:user:bitbucket"], email="a@acme.io")
    response = bb.get(endpoint, basic("a@acme.io", "tok"))
    assert response.status == 403
    assert body(response)["error"]["detail"]["required"] == ["read:workspace:bitbucket"]


def test_user_workspaces_lists_workspace_access_items(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io", admin_workspaces=["other"])
    response = bb.get("/2.0/user/workspaces", basic("a@acme.io", "tok"))
    values = body(response)["values"]
    assert [(v["type"], v["workspace"]["slug"], v["administrator"]) for v in values] == [
        ("workspace_access", "acme", False),
        ("workspace_access", "other", True),
    ]
    # A `workspace_base` as the spec and third-party fixtures show it: no name.
    assert set(values[0]["workspace"]) == {"type", "slug", "uuid", "links"}
    assert values[0]["workspace"]["type"] == "workspace_base"


def test_membership_by_workspace_members_list(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="bob@acme.io", workspaces=[])
    assert body(bb.get("/2.0/user/workspaces", basic("bob@acme.io", "tok")))["values"] == []
    bb.state.add_workspace({"slug": "acme", "members": ["bob@acme.io"]})
    slugs = [
        v["workspace"]["slug"] for v in body(bb.get("/2.0/user/workspaces", basic("bob@acme.io", "tok")))["values"]
    ]
    assert slugs == ["acme"]


def test_workspace_permission_roles_and_non_member(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io", admin_workspaces=["other"])
    auth = basic("a@acme.io", "tok")
    assert body(bb.get("/2.0/user/workspaces/acme/permission", auth))["permission"] == "member"
    assert body(bb.get("/2.0/user/workspaces/other/permission", auth))["permission"] == "owner"
    bb.state.add_workspace({"slug": "third"})
    assert bb.get("/2.0/user/workspaces/third/permission", auth).status == 403


def test_non_member_sees_no_repositories_and_may_not_list_projects(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io", workspaces=["other"])
    auth = basic("a@acme.io", "tok")
    assert body(bb.get("/2.0/repositories/acme?role=member", auth))["values"] == []
    assert bb.get("/2.0/repositories/acme/infra", auth).status == 404
    assert bb.get("/2.0/workspaces/acme/projects", auth).status == 403
    assert bb.get("/2.0/repositories/nowhere", auth).status == 404


def test_repository_filters_role_and_project_query(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io")
    auth = basic("a@acme.io", "tok")

    def slugs(path: str) -> list[str]:
        return [v["slug"] for v in body(bb.get(path, auth))["values"]]

    assert slugs("/2.0/repositories/acme?role=member") == ["api", "infra", "web"]
    assert slugs('/2.0/repositories/acme?q=project.key="APP"') == ["api", "web"]
    assert slugs("/2.0/repositories/acme?role=admin") == []
    assert bb.get("/2.0/repositories/acme?role=boss", auth).status == 400
    repository = body(bb.get("/2.0/repositories/acme/infra", auth))
    assert repository["full_name"] == "acme/infra"
    assert repository["project"]["key"] == "INF"


def test_pullrequests_list_and_scope(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io")
    route, response = bb.call("/2.0/repositories/acme/infra/pullrequests", basic("a@acme.io", "tok"))
    assert route == "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests"
    assert [pr["title"] for pr in body(response)["values"]] == ["Bump provider"]


# ------------------------ pagination: docs/evidence.md#bitbucket-rate-limits-pagination-and-expiry
def test_pagination_values_next_page_size(bb: Bitbucket) -> None:
    bb.state.add_workspace({"slug": "big", "repositories": [{"slug": f"repo-{i:02d}"} for i in range(25)]})
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io", workspaces=["big"])
    auth = basic("a@acme.io", "tok")
    first = body(bb.get("/2.0/repositories/big?pagelen=10&role=member", auth))
    assert (len(first["values"]), first["page"], first["pagelen"], first["size"]) == (10, 1, 10, 25)
    assert first["next"] == "http://127.0.0.1:7990/2.0/repositories/big?pagelen=10&role=member&page=2"
    last = body(bb.get("/2.0/repositories/big?pagelen=10&role=member&page=3", auth))
    assert [v["slug"] for v in last["values"]] == [f"repo-{i}" for i in range(20, 25)]
    assert "next" not in last
    assert body(bb.get("/2.0/repositories/big?pagelen=100", auth))["pagelen"] == 100
    # The spec's envelopes: pagelen has a minimum of 1 (no floor of 10).
    assert body(bb.get("/2.0/repositories/big?pagelen=1", auth))["pagelen"] == 1
    assert bb.get("/2.0/repositories/big?pagelen=0", auth).status == 400
    assert bb.get("/2.0/repositories/big?pagelen=101", auth).status == 400
    assert bb.get("/2.0/repositories/big?pagelen=ten", auth).status == 400


# ------------------------ CHANGE-2770: docs/evidence.md#bitbucket-error-and-status-shapes
@pytest.mark.parametrize("path", ["/2.0/repositories", "/2.0/workspaces", "/2.0/user/permissions/repositories"])
def test_cross_workspace_endpoints_are_gone(bb: Bitbucket, path: str) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io")
    for authorization in (basic("a@acme.io", "tok"), None):
        route, response = bb.call(path, authorization)
        assert route == f"GET {path}"
        assert response.status == 410
        assert body(response) == CHANGE_2770_BODY


def test_unknown_path_and_anonymous(bb: Bitbucket) -> None:
    route, response = bb.call("/2.0/snippets")
    assert (route, response.status) == ("GET (unknown)", 404)
    assert bb.get("/2.0/user").status == 401


# ------------------------ access tokens: docs/evidence.md#bitbucket-authentication-per-credential-kind
def test_repository_access_token_is_confined_to_its_repository(bb: Bitbucket) -> None:
    bb.credential("access_token", "rat", ["repository", "pullrequest"], resource="acme/infra")
    auth = bearer("rat")
    own = bb.get("/2.0/repositories/acme/infra", auth)
    assert own.status == 200
    assert own.headers["x-credential-type"] == "repo_access_token"
    assert own.headers["x-oauth-scopes"] == "repository, pullrequest"
    # Narrowed to the granted scopes that satisfy the endpoint (pullrequest implies repository).
    assert own.headers["x-accepted-oauth-scopes"] == "repository, pullrequest"
    sibling = bb.get("/2.0/repositories/acme/web", auth)
    assert sibling.status == 404
    assert sibling.headers["x-credential-type"] == "repo_access_token"
    assert [v["slug"] for v in body(bb.get("/2.0/repositories/acme", auth))["values"]] == ["infra"]
    elsewhere = bb.get("/2.0/repositories/other/ops", auth)
    assert (elsewhere.status, error_message(elsewhere)) == (403, NOT_ACCESSIBLE)
    assert elsewhere.headers["x-credential-type"] == "repo_access_token"


def test_access_token_on_user_is_403_with_headers(bb: Bitbucket) -> None:
    bb.credential("access_token", "wat", ["repository", "account"], resource="acme")
    for path in ("/2.0/user", "/2.0/user/workspaces"):
        response = bb.get(path, bearer("wat"))
        assert (response.status, error_message(response)) == (403, NOT_ACCESSIBLE)
        assert response.headers["x-credential-type"] == "workspace_access_token"
        assert response.headers["x-oauth-scopes"] == "repository, account"


def test_project_access_token_sees_its_project(bb: Bitbucket) -> None:
    bb.credential("access_token", "pat", ["project", "pullrequest"], resource="acme/project:APP")
    auth = bearer("pat")
    assert body(bb.get("/2.0/workspaces/acme/projects/APP", auth))["key"] == "APP"
    assert bb.get("/2.0/workspaces/acme/projects/INF", auth).status == 404
    assert [v["slug"] for v in body(bb.get('/2.0/repositories/acme?q=project.key="APP"', auth))["values"]] == [
        "api",
        "web",
    ]
    assert bb.get("/2.0/repositories/acme/infra", auth).status == 404
    assert bb.get("/2.0/repositories/acme/web", auth).headers["x-credential-type"] == "project_access_token"


def test_access_token_only_as_bearer(bb: Bitbucket) -> None:
    bb.credential("access_token", "wat", ["repository"], resource="acme")
    for authorization in (basic("x-token-auth", "wat"), basic("someone@acme.io", "wat")):
        assert bb.get("/2.0/repositories/acme", authorization).status == 401
    assert bb.get("/2.0/repositories/acme", bearer("wat")).status == 200
    bb.state.patch_credential("wat", {"revoked": True})
    assert bb.get("/2.0/repositories/acme", bearer("wat")).status == 401


@pytest.mark.parametrize(
    ("granted", "path", "status"),
    [
        (["project"], "/2.0/repositories/acme/infra", 200),
        (["pullrequest"], "/2.0/repositories/acme/infra", 200),
        (["repository:write"], "/2.0/repositories/acme/infra", 200),
        (["pullrequest:write"], "/2.0/repositories/acme/infra/pullrequests", 200),
        (["pullrequest:write"], "/2.0/repositories/acme/infra", 200),
        (["repository:admin"], "/2.0/repositories/acme/infra", 403),
        (["repository"], "/2.0/repositories/acme/infra/pullrequests", 403),
        (["repository"], "/2.0/workspaces/acme/projects", 403),
    ],
)
def test_classic_scope_implications(bb: Bitbucket, granted: list[str], path: str, status: int) -> None:
    """Classic implication rules (docs/evidence.md#bitbucket-scopes), for a workspace access token."""
    bb.credential("access_token", "wat", granted, resource="acme")
    response = bb.get(path, bearer("wat"))
    assert response.status == status
    assert response.headers["x-oauth-scopes"] == ", ".join(granted)  # as granted, not implied


def test_classic_closure() -> None:
    assert classic_closure(["pullrequest:write"]) == {
        "pullrequest:write",
        "pullrequest",
        "repository:write",
        "repository",
    }
    assert classic_closure(["repository:admin"]) == {"repository:admin"}


# ------------------------ app passwords: docs/evidence.md#app-password-timeline
def test_app_password_as_basic_username(bb: Bitbucket) -> None:
    bb.credential("app_password", "pw", ["account", "repository"], username="alice", email="alice@acme.io")
    ok = bb.get("/2.0/user", basic("Alice", "pw"))
    assert ok.status == 200
    assert ok.headers["x-credential-type"] == "app_password"
    with_email = bb.get("/2.0/user", basic("alice@acme.io", "pw"))
    assert with_email.status == 401
    assert with_email.headers["WWW-Authenticate"] == 'Basic realm="Bitbucket.org HTTP"'


@pytest.mark.parametrize(
    ("instant", "status"),
    [
        ("2026-06-08T23:59:00Z", 200),
        ("2026-06-09T00:05:00Z", 401),  # first brownout window
        ("2026-06-09T01:00:00Z", 200),
        ("2026-07-27T18:10:00Z", 401),
        ("2026-07-28T03:00:00Z", 401),  # removed
        ("2027-01-01T03:00:00Z", 401),
    ],
)
def test_app_password_brownouts_and_removal(bb: Bitbucket, instant: str, status: int) -> None:
    bb.credential("app_password", "pw", ["account"], username="alice")
    bb.clock.set(datetime.fromisoformat(instant.replace("Z", "+00:00")))
    assert bb.get("/2.0/user", basic("alice", "pw")).status == status


def test_app_password_by_bearer_is_refused(bb: Bitbucket) -> None:
    bb.credential("app_password", "pw", ["account"], username="alice")
    assert bb.get("/2.0/user", bearer("pw")).status == 401


# --------------------------------------------------------------------------- admin input and persistence
@pytest.mark.parametrize(
    "body_",
    [
        {"kind": "oauth", "secret": "s", "scopes": []},
        {"kind": "api_token", "secret": "", "scopes": []},
        {"kind": "api_token", "secret": "s"},
        {"kind": "api_token", "secret": "s", "scopes": [], "email": "not-an-email"},
        {"kind": "api_token", "secret": "s", "scopes": [], "colour": "red"},
        {"kind": "access_token", "secret": "s", "scopes": ["repository"]},
        {"kind": "access_token", "secret": "s", "scopes": ["project"], "resource": "acme/infra"},
        {
            "kind": "access_token",
            "secret": "s",
            "scopes": ["repository"],
            "resource": "acme",
            "expires_at": "2027-01-01",
        },
        {"kind": "app_password", "secret": "s", "scopes": ["read:user:bitbucket"]},
        {"kind": "app_password", "secret": "s", "scopes": [], "username": "a@b.io"},
    ],
)
def test_add_credential_rejects_bad_input(bb: Bitbucket, body_: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        bb.state.add_credential(body_)


def test_add_credential_derives_an_account(bb: Bitbucket) -> None:
    from_email = bb.credential("api_token", "t1", [], email="Carol.Smith@acme.io")
    assert from_email["account"]["username"] == "carol-smith"
    from_username = bb.credential("app_password", "p1", [], username="dave", display_name="Dave D")
    assert from_username["account"]["email"] == "dave@example.com"
    assert from_username["account"]["display_name"] == "Dave D"
    anonymous = bb.credential("api_token", "t2", [])
    assert anonymous["account"]["username"].startswith("user-")
    # Same username, same account (uuid) across credentials.
    again = bb.credential("api_token", "t3", [], username="dave")
    assert again["account"]["uuid"] == from_username["account"]["uuid"]
    assert again["account"]["email"] == "dave@example.com"


def test_patch_credential_errors(bb: Bitbucket) -> None:
    with pytest.raises(KeyError):
        bb.state.patch_credential("nope", {"revoked": True})
    bb.credential("access_token", "rat", ["repository"], resource="acme/infra")
    with pytest.raises(ValueError):
        bb.state.patch_credential("rat", {"scopes": ["project"]})
    with pytest.raises(ValueError):
        bb.state.patch_credential("rat", {"colour": "red"})
    assert bb.state.patch_credential("rat", {"scopes": ["repository", "pullrequest"]})["scopes"] == [
        "repository",
        "pullrequest",
    ]


def test_add_workspace_merges_and_validates(bb: Bitbucket) -> None:
    merged = bb.state.add_workspace({"slug": "acme", "repositories": [{"slug": "docs", "project": "INF"}]})
    assert [r["slug"] for r in merged["repositories"]] == ["api", "docs", "infra", "web"]
    with pytest.raises(ValueError):
        bb.state.add_workspace({"slug": "acme", "repositories": [{"slug": "x", "project": "NOPE"}]})
    with pytest.raises(ValueError):
        bb.state.add_workspace({"projects": []})
    with pytest.raises(ValueError):
        bb.state.add_workspace({"slug": "ok", "projects": [{"key": "bad key"}]})
    assert "x" not in bb.state.workspaces["acme"].repositories  # a failed merge changes nothing
    default = bb.state.add_workspace({"slug": "fresh", "repositories": [{"slug": "one"}]})
    assert default["projects"] == ["PROJ"]


def test_state_round_trips_through_json(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="a@acme.io", expires_at="2027-01-01T00:00:00Z")
    bb.credential("access_token", "pat", ["project"], resource="acme/project:APP")
    dumped = bb.state.to_json()
    restored = BitbucketState.from_json(json.loads(json.dumps(dumped)))
    assert restored.to_json() == dumped
    api = BitbucketApi(restored, bb.clock, threading.RLock())
    response = api.handle(Request.build("GET", "/2.0/repositories/acme/web", {"Authorization": bearer("pat")}))[1]
    assert response.status == 200


# --------------------------------------------------------------------------- StackGuardian's authenticated flag
def test_credential_authenticates(bb: Bitbucket) -> None:
    bb.credential("api_token", "tok", API_TOKEN_READ_SCOPES, email="alice@acme.io", username="alice")
    bb.credential("access_token", "rat", ["repository"], resource="acme/infra")
    bb.credential("app_password", "pw", ["account"], username="alice")
    now = BEFORE_BROWNOUTS
    state = bb.state
    api_token = {"bitbucketCreds": "alice:tok", "bitbucketEmail": "alice@acme.io"}
    assert state.credential_authenticates("API_TOKEN", api_token, now)
    assert not state.credential_authenticates("API_TOKEN", {**api_token, "bitbucketEmail": "bob@acme.io"}, now)
    assert not state.credential_authenticates("API_TOKEN", {**api_token, "bitbucketCreds": "alice:nope"}, now)
    assert state.credential_authenticates("ACCESS_TOKEN", {"bitbucketAccessToken": "rat"}, now)
    assert not state.credential_authenticates("API_TOKEN", {"bitbucketCreds": "x:rat", "bitbucketEmail": "x@y.z"}, now)
    assert state.credential_authenticates("APP_PASSWORD", {"bitbucketCreds": "alice:pw"}, now)
    assert not state.credential_authenticates("APP_PASSWORD", {"bitbucketCreds": "alice@acme.io:pw"}, now)
    assert not state.credential_authenticates(
        "APP_PASSWORD", {"bitbucketCreds": "alice:pw"}, datetime(2026, 6, 9, 0, 1, tzinfo=UTC)
    )
    assert not state.credential_authenticates(
        "APP_PASSWORD", {"bitbucketCreds": "alice:pw"}, datetime(2026, 7, 28, 3, tzinfo=UTC)
    )
    state.patch_credential("rat", {"revoked": True})
    assert not state.credential_authenticates("ACCESS_TOKEN", {"bitbucketAccessToken": "rat"}, now)
    assert not state.credential_authenticates("ACCESS_TOKEN", {}, now)
