"""The emulated StackGuardian connector API over loopback HTTP: auth, CRUD, validation, masking, listall."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from emu_helpers import (
    API_KEY,
    ORG,
    SG,
    TIMEOUT,
    access_token_config,
    api_token_config,
    integration,
)

from sg_bitbucket_iac.emulator import Emulator

Factory = Callable[..., Emulator]

RECORD_KEYS = {
    "Id",
    "ResourceName",
    "Description",
    "Settings",
    "DiscoverySettings",
    "Tags",
    "ContextTags",
    "Scope",
    "IsActive",
    "IsArchive",
    "ResourceId",
    "ResourceType",
    "ParentId",
    "OrgId",
    "SubResourceId",
    "DocVersion",
    "Authors",
    "CreatedAt",
    "ModifiedAt",
    "Authentication",
}
T0 = "2026-01-02T03:04:05Z"
T0_MS = 1767323045000
T1 = "2026-02-01T00:00:00Z"
T1_MS = 1769904000000


def created(sg: SG, body: dict[str, Any]) -> dict[str, Any]:
    response = sg.create(body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# --------------------------------------------------------------------------- auth
@pytest.mark.parametrize("header", [None, "", "Bearer sgo_test_key", "apikey", "apikey ", "apikey wrong-key"])
def test_missing_malformed_or_unknown_key_is_401(emulator: Emulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(
        f"{emulator.stackguardian_url}/api/v1/orgs/{ORG}/integrations/listall/", headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json() == {"msg": "Invalid or expired API key"}


def test_key_of_another_org_and_unknown_org_are_403(emulator: Emulator) -> None:
    emulator.admin("POST", "/orgs", {"org": "other", "api_keys": ["sgo_other"]})
    assert SG(emulator, ORG, "sgo_other").listall().status_code == 403
    assert SG(emulator, "other", API_KEY).listall().json() == {"msg": "Forbidden"}
    assert SG(emulator, "nope", API_KEY).listall().status_code == 403
    assert SG(emulator, "other", "sgo_other").listall().status_code == 200


def test_unknown_org_status_is_a_switch(emulator_factory: Factory) -> None:
    emulator = emulator_factory(unknown_org_status=404)
    response = SG(emulator, "nope", API_KEY).listall()
    assert response.status_code == 404
    assert response.json() == {"msg": "Organization nope not found"}


def test_scheme_is_case_insensitive(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.stackguardian_url}/api/v1/orgs/{ORG}/integrations/listall/",
        headers={"Authorization": f"ApiKey {API_KEY}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- create
def test_create_returns_the_record_shape(emulator: Emulator, sg: SG, sentinel: str) -> None:
    emulator.admin("POST", "/clock", {"now": T0})
    response = sg.create(
        integration("bb main", api_token_config(sentinel), Description="Main", Tags=["platform"],
                    ContextTags={"sg-bitbucket-iac/managed": "true"})
    )
    assert response.status_code == 200
    body = response.json()
    assert body["msg"] == "Connector bb main created"
    record = body["data"]
    assert set(record) == RECORD_KEYS
    assert record["Id"] == "bb_main"
    assert record["ResourceId"] == "/integrations/bb_main"
    assert record["ResourceType"] == "INTEGRATION.BITBUCKET_ORG"
    assert record["ParentId"] == record["OrgId"] == "/orgs/acme"
    assert (record["IsActive"], record["IsArchive"], record["SubResourceId"]) == ("1", "0", "")
    assert record["Scope"] == ["*"]
    assert record["DiscoverySettings"] is None
    assert record["Description"] == "Main"
    assert record["Tags"] == ["platform"]
    assert record["ContextTags"] == {"sg-bitbucket-iac/managed": "true"}
    assert record["CreatedAt"] == record["ModifiedAt"] == T0_MS
    assert record["Authentication"]["authenticatedAt"] == T0_MS
    assert isinstance(record["Authentication"]["authenticated"], bool)
    assert record["Settings"]["config"] == [
        {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "********", "bitbucketEmail": "alice@acme.io"}
    ]
    assert sentinel not in response.text


def test_create_status_can_be_201(emulator_factory: Factory) -> None:
    emulator = emulator_factory(create_status=201)
    assert SG(emulator).create(integration("x", access_token_config("tok"))).status_code == 201


def test_given_id_is_used_and_id_is_derived_from_the_name(sg: SG) -> None:
    assert created(sg, integration("any name", access_token_config("t"), Id="my-id_1"))["Id"] == "my-id_1"
    assert created(sg, integration("bb main-1!", access_token_config("t")))["Id"] == "bb_main-1_"


def test_id_derivation_without_hyphens_is_a_switch(emulator_factory: Factory) -> None:
    emulator = emulator_factory(derived_id_keeps_hyphens=False)
    assert created(SG(emulator), integration("bb main-1!", access_token_config("t")))["Id"] == "bb_main_1_"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAccessToken": "t"}]}}, "ResourceName"),
        (integration("n" * 100, access_token_config("t")), "ResourceName must be shorter than 100"),
        (integration("n", access_token_config("t"), Description="d" * 256), "Description must be shorter"),
        (integration("n", access_token_config("t"), Tags=[str(i) for i in range(11)]), "at most 10"),
        (integration("n", access_token_config("t"), Tags="a"), "Tags must be a list"),
        (integration("n", access_token_config("t"), kind="BITBUCKET_SERVER"), "Settings.kind must be one of"),
        ({"ResourceName": "n"}, "Settings is required"),
        ({"ResourceName": "n", "Settings": {"kind": "GITLAB_COM", "config": [{}, {}]}}, "exactly one object"),
        ({"ResourceName": "n", "Settings": {"kind": "GITLAB_COM", "config": {}}}, "exactly one object"),
        (integration("n", access_token_config("t"), Id="bad id"), "Id must match"),
        (integration("n", access_token_config("t"), Id=5), "Id must be a string"),
        (integration("日本", access_token_config("t"), Id="ok"), None),
    ],
)
def test_create_validation(sg: SG, body: dict[str, Any], message: str | None) -> None:
    response = sg.create(body)
    if message is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert message in response.json()["msg"]


def test_every_kind_of_the_enum_is_accepted(sg: SG) -> None:
    kinds = ["GITHUB_COM", "GITHUB_APP_CUSTOM", "GITLAB_COM", "AZURE_DEVOPS", "AWS_STATIC", "AWS_RBAC",
             "AWS_OIDC", "AZURE_STATIC", "AZURE_OIDC", "AZURE_MANAGED_ID_OIDC", "GCP_STATIC", "GCP_OIDC"]
    for kind in kinds:
        assert created(sg, integration(kind, {}, kind=kind))["ResourceType"] == f"INTEGRATION.{kind}"


def test_duplicate_id_is_400(sg: SG) -> None:
    created(sg, integration("dup", access_token_config("t")))
    response = sg.create(integration("dup", access_token_config("t2")))
    assert response.status_code == 400
    assert response.json() == {"msg": "Connector dup already exists"}


def test_malformed_json_is_400(sg: SG) -> None:
    response = sg.session.post(sg.base, data=b"{not json", headers={"Content-Type": "application/json"},
                               timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json() == {"msg": "Malformed JSON in request body"}
    assert sg.session.post(sg.base, json=["a"], timeout=TIMEOUT).status_code == 400


def test_unknown_top_level_keys_are_ignored(sg: SG) -> None:
    record = created(sg, integration("x", access_token_config("t"), Whatever=1))
    assert "Whatever" not in record


# --------------------------------------------------------------------------- Bitbucket rules
@pytest.mark.parametrize(
    ("config", "auth_type"),
    [
        ({"bitbucketAccessToken": "t"}, "ACCESS_TOKEN"),
        ({"bitbucketCreds": "alice:t", "bitbucketEmail": "a@b.io"}, "API_TOKEN"),
        ({"bitbucketCreds": "alice:t"}, "APP_PASSWORD"),
    ],
)
def test_auth_type_is_inferred_and_stored(emulator: Emulator, sg: SG, config: dict[str, Any], auth_type: str) -> None:
    record = created(sg, integration("x", config))
    assert record["Settings"]["config"][0]["bitbucketAuthType"] == auth_type
    raw = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/x")
    assert raw["Settings"]["config"][0]["bitbucketAuthType"] == auth_type


def test_inference_can_be_switched_off(emulator_factory: Factory) -> None:
    emulator = emulator_factory(infer_bitbucket_auth_type=False)
    response = SG(emulator).create(integration("x", {"bitbucketAccessToken": "t"}))
    assert response.status_code == 400
    assert "bitbucketAuthType is required" in response.json()["msg"]


def test_resolved_auth_type_storage_is_a_switch(emulator_factory: Factory) -> None:
    emulator = emulator_factory(store_resolved_auth_type=False)
    record = created(SG(emulator), integration("x", {"bitbucketAccessToken": "t"}))
    assert "bitbucketAuthType" not in record["Settings"]["config"][0]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "alice:{s}"}, "requires bitbucketEmail"),
        ({"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "{s}", "bitbucketEmail": "a@b.io"}, "<username>:"),
        ({"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": ":{s}", "bitbucketEmail": "a@b.io"}, "<username>:"),
        ({"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "alice:{s}", "bitbucketEmail": "alice"}, "email address"),
        ({"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": ""}, "requires bitbucketAccessToken"),
        ({"bitbucketAuthType": "ACCESS_TOKEN"}, "requires bitbucketAccessToken"),
        ({"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "{s}", "bitbucketCreds": "alice:{s}"},
         "does not take bitbucketCreds"),
        ({"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": "alice:{s}", "bitbucketAccessToken": "{s}"},
         "does not take bitbucketAccessToken"),
        ({"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": "alice:{s}", "bitbucketEmail": "a@b.io"},
         "does not take bitbucketEmail"),
        ({"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": "{s}"}, "<username>:<secret>"),
        ({"bitbucketAuthType": "OAUTH", "bitbucketCreds": "alice:{s}"}, "bitbucketAuthType must be one of"),
        ({"bitbucketAccessToken": 5}, "must be a string"),
        ({"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": "********"}, "read-back mask"),
    ],
)
def test_bitbucket_rules_reject_without_echoing_the_secret(
    sg: SG, sentinel: str, config: dict[str, Any], message: str
) -> None:
    filled = {k: v.replace("{s}", sentinel) if isinstance(v, str) else v for k, v in config.items()}
    response = sg.create(integration("x", filled))
    assert response.status_code == 400
    assert message in response.json()["msg"]
    assert sentinel not in response.text


# --------------------------------------------------------------------------- read and masking
@pytest.mark.parametrize(
    ("mode", "creds", "token_present"),
    [("mask", "********", True), ("mask_user", "alice:********", True), ("omit", None, False), ("echo", "echo", True)],
)
def test_secret_read_modes(
    emulator_factory: Factory, sentinel: str, mode: str, creds: str | None, token_present: bool
) -> None:
    emulator = emulator_factory(secret_read_mode=mode)
    sg = SG(emulator)
    api_token = created(sg, integration("a", api_token_config(sentinel)))
    created(sg, integration("b", access_token_config(sentinel)))
    reads = [api_token, sg.get("a").json()["msg"], sg.listall().json()["msg"][0]]
    token_reads = [sg.get("b").json()["msg"], sg.listall().json()["msg"][1]]
    expected_creds = f"alice:{sentinel}" if creds == "echo" else creds
    for record in reads:
        config = record["Settings"]["config"][0]
        assert config.get("bitbucketCreds") == expected_creds
        assert config["bitbucketEmail"] == "alice@acme.io"
    for record in token_reads:
        config = record["Settings"]["config"][0]
        assert ("bitbucketAccessToken" in config) is token_present
        assert config["bitbucketAuthType"] == "ACCESS_TOKEN"
    if mode != "echo":
        assert sentinel not in sg.listall().text + sg.get("a").text + sg.get("b").text


def test_other_kinds_secret_keys_are_masked(sg: SG, sentinel: str) -> None:
    config = {"gitlabCreds": f"bob:{sentinel}", "gitlabHttpUrl": "https://gitlab.com"}
    record = created(sg, integration("gl", config, kind="GITLAB_COM"))
    assert record["Settings"]["config"][0] == {"gitlabCreds": "********", "gitlabHttpUrl": "https://gitlab.com"}


def test_get_and_delete(sg: SG) -> None:
    created(sg, integration("bb main", access_token_config("t")))
    assert sg.get("bb_main").json()["msg"]["ResourceName"] == "bb main"
    assert sg.session.get(sg.base + "bb_main", timeout=TIMEOUT).status_code == 200  # no trailing slash
    response = sg.delete("bb_main")
    assert response.status_code == 200
    assert response.json() == {"msg": "Connector bb main deleted"}
    assert sg.get("bb_main").status_code == 404
    assert sg.get("bb_main").json() == {"msg": "Connector bb_main not found"}
    assert sg.delete("bb_main").status_code == 404
    assert sg.patch("bb_main", {"Description": "x"}).status_code == 404


def test_unknown_route_and_method(emulator: Emulator, sg: SG) -> None:
    assert requests.get(f"{emulator.stackguardian_url}/api/v1/nothing", timeout=TIMEOUT).status_code == 404
    assert sg.session.put(sg.base + "x/", json={}, timeout=TIMEOUT).status_code == 405


# --------------------------------------------------------------------------- PATCH
def test_patch_absent_keys_unchanged_null_clears(emulator: Emulator, sg: SG) -> None:
    emulator.admin("POST", "/clock", {"now": T0})
    created(sg, integration("x", access_token_config("t"), Description="d", Tags=["a"],
                            ContextTags={"k": "v"}, DiscoverySettings={"benchmarks": {}}))
    emulator.admin("POST", "/clock", {"now": T1})
    response = sg.patch("x", {"Description": "new"})
    assert response.status_code == 200
    assert response.json()["msg"] == "Integration x updated"
    record = response.json()["data"]
    assert (record["Description"], record["Tags"], record["ContextTags"]) == ("new", ["a"], {"k": "v"})
    assert record["DiscoverySettings"] == {"benchmarks": {}}
    assert (record["CreatedAt"], record["ModifiedAt"]) == (T0_MS, T1_MS)
    cleared = sg.patch("x", {"Description": None, "Tags": None, "ContextTags": None,
                             "DiscoverySettings": None}).json()["data"]
    assert (cleared["Description"], cleared["Tags"], cleared["ContextTags"]) == ("", [], {})
    assert cleared["DiscoverySettings"] is None
    assert cleared["Settings"]["config"][0]["bitbucketAuthType"] == "ACCESS_TOKEN"
    assert sg.patch("x", {"ResourceName": None}).status_code == 400
    assert sg.patch("x", {"ResourceName": "renamed"}).json()["msg"] == "Integration renamed updated"
    assert sg.get("x").json()["msg"]["ResourceName"] == "renamed"


def test_patch_id_is_immutable(sg: SG) -> None:
    created(sg, integration("x", access_token_config("t")))
    response = sg.patch("x", {"Id": "y", "Description": "d"})
    assert response.status_code == 400
    assert "Id is immutable" in response.json()["msg"]
    assert sg.get("x").json()["msg"]["Description"] == ""
    assert sg.patch("x", {"Id": "x", "Description": "d"}).status_code == 200


def test_patch_settings_replaces_wholesale(emulator: Emulator, sg: SG, sentinel: str) -> None:
    created(sg, integration("x", {**api_token_config("old-secret"), "extra": "kept?"}))
    response = sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [api_token_config(sentinel, "bob")]}})
    assert response.status_code == 200
    raw = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/x")
    assert raw["Settings"]["config"] == [api_token_config(sentinel, "bob")]


def test_auth_type_switch_needs_every_field_of_the_new_type(emulator: Emulator, sg: SG, sentinel: str) -> None:
    created(sg, integration("x", api_token_config("old-secret")))
    refused = sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "ACCESS_TOKEN"}]}})
    assert refused.status_code == 400
    assert "changing the auth type from API_TOKEN clears the saved credentials" in refused.json()["msg"]
    mixed = sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [
        {**access_token_config(sentinel), "bitbucketEmail": "alice@acme.io"}]}})
    assert mixed.status_code == 400
    assert sentinel not in mixed.text
    switched = sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [access_token_config(sentinel)]}})
    assert switched.status_code == 200
    raw = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/x")
    assert raw["Settings"]["config"] == [access_token_config(sentinel)]
    assert raw["Id"] == "x"


def test_masked_secret_on_patch_keep_mode(emulator_factory: Factory, sentinel: str) -> None:
    emulator = emulator_factory(masked_secret_on_patch="keep")
    sg = SG(emulator)
    created(sg, integration("x", api_token_config(sentinel)))
    same_type = api_token_config("********") | {"bitbucketCreds": "********", "bitbucketEmail": "new@acme.io"}
    assert sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [same_type]}}).status_code == 200
    raw = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/x")
    assert raw["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{sentinel}"
    assert raw["Settings"]["config"][0]["bitbucketEmail"] == "new@acme.io"
    switch = {"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": "********"}
    assert sg.patch("x", {"Settings": {"kind": "BITBUCKET_ORG", "config": [switch]}}).status_code == 400


# --------------------------------------------------------------------------- listall
def seed(emulator: Emulator, count: int, **extra: Any) -> None:
    records = [integration(f"conn-{i:05d}", access_token_config(f"t{i}"), **extra) for i in range(count)]
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})


def test_listall_pages_1200_connectors_in_three_requests(emulator: Emulator, sg: SG) -> None:
    seed(emulator, 1200)
    emulator.admin("DELETE", "/stats")
    ids: list[str] = []
    cursors: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["lastevaluatedkey"] = cursor
        body = sg.listall(**params).json()
        ids += [item["Id"] for item in body["msg"]]
        cursor = body["lastevaluatedkey"]
        cursors.append(cursor)
        if not cursor:
            break
    assert len(cursors) == 3 and cursors[-1] == ""
    assert ids == sorted(ids) and len(set(ids)) == 1200
    stats = emulator.admin("GET", "/stats")["stackguardian"]
    assert stats["by_route"] == {"GET /api/v1/orgs/{org}/integrations/listall/": 3}


def test_listall_default_limit_is_50(emulator: Emulator, sg: SG) -> None:
    seed(emulator, 60)
    body = sg.listall().json()
    assert len(body["msg"]) == 50 and body["lastevaluatedkey"]
    rest = sg.listall(lastevaluatedkey=body["lastevaluatedkey"]).json()
    assert len(rest["msg"]) == 10 and rest["lastevaluatedkey"] == ""


@pytest.mark.parametrize("limit", ["501", "0", "-1", "ten"])
def test_listall_rejects_bad_limits(sg: SG, limit: str) -> None:
    response = sg.listall(limit=limit)
    assert response.status_code == 400
    assert "limit" in response.json()["msg"]


def test_listall_rejects_a_bad_cursor(sg: SG) -> None:
    assert sg.listall(lastevaluatedkey="%%%").status_code == 400


def test_listall_filters(sg: SG) -> None:
    created(sg, integration("bb-a", access_token_config("t")))
    created(sg, integration("bb-b", access_token_config("t")))
    created(sg, integration("gl", {}, kind="GITLAB_COM"))
    created(sg, integration("aws", {}, kind="AWS_RBAC"))

    def names(**params: Any) -> list[str]:
        return [item["ResourceName"] for item in sg.listall(**params).json()["msg"]]

    assert names(kind="BITBUCKET_ORG") == ["bb-a", "bb-b"]
    assert names(kind="GITLAB_COM,AWS_RBAC") == ["aws", "gl"]
    assert names(ResourceNames="bb-b,gl") == ["bb-b", "gl"]
    assert names(ResourceNames="bb") == []
    assert names(kind="BITBUCKET_ORG", ResourceNames="bb-a,gl") == ["bb-a"]


def test_listall_pages_through_filters(sg: SG) -> None:
    for i in range(5):
        created(sg, integration(f"bb{i}", access_token_config("t")))
        created(sg, integration(f"gl{i}", {}, kind="GITLAB_COM"))
    first = sg.listall(kind="GITLAB_COM", limit=3).json()
    second = sg.listall(kind="GITLAB_COM", limit=3, lastevaluatedkey=first["lastevaluatedkey"]).json()
    assert [i["Id"] for i in first["msg"] + second["msg"]] == [f"gl{i}" for i in range(5)]
    assert second["lastevaluatedkey"] == ""


def test_list_item_wrap_switch(emulator_factory: Factory) -> None:
    emulator = emulator_factory(list_item_wrap=True)
    sg = SG(emulator)
    created(sg, integration("x", access_token_config("t")))
    items = sg.listall().json()["msg"]
    assert list(items[0]) == ["msg"] and items[0]["msg"]["Id"] == "x"


# --------------------------------------------------------------------------- Authentication block
def test_admin_can_pin_the_authentication_flag(emulator: Emulator, sg: SG) -> None:
    created(sg, integration("x", {}, kind="GITLAB_COM"))
    assert sg.get("x").json()["msg"]["Authentication"]["authenticated"] is True
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/x", {"Authentication": {"authenticated": False}})
    assert sg.get("x").json()["msg"]["Authentication"]["authenticated"] is False
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/x", {"Authentication": None})
    assert sg.get("x").json()["msg"]["Authentication"]["authenticated"] is True


def test_authenticated_follows_the_emulated_bitbucket(emulator: Emulator, sg: SG, sentinel: str) -> None:
    health = emulator.admin("GET", "/health")
    if not health["bitbucket"]:
        pytest.skip("the emulated Bitbucket module is not installed")
    emulator.admin("POST", "/clock", {"now": T0})
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PROJ"}],
                                                     "repositories": [{"slug": "infra", "project": "PROJ"}]})
    credential = emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": sentinel, "email": "alice@acme.io", "username": "alice",
        "scopes": ["read:repository:bitbucket", "read:user:bitbucket"], "workspaces": ["acme"]})
    record = created(sg, integration("x", api_token_config(sentinel)))
    assert record["Authentication"] == {"authenticated": True, "authenticatedAt": T0_MS}
    assert created(sg, integration("y", api_token_config("unknown")))["Authentication"]["authenticated"] is False
    emulator.admin("PATCH", f"/bitbucket/credentials/{credential['fingerprint']}", {"revoked": True})
    emulator.admin("POST", "/clock", {"now": T1})
    assert sg.get("x").json()["msg"]["Authentication"] == {"authenticated": False, "authenticatedAt": T1_MS}
    listed = sg.listall().json()["msg"][0]
    assert listed["Authentication"]["authenticated"] is False


def test_parallel_clients_all_get_answers(emulator: Emulator) -> None:
    def create(index: int) -> int:
        client = SG(emulator)
        try:
            return client.create(integration(f"par-{index:03d}", access_token_config("t"))).status_code
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=32) as pool:
        assert set(pool.map(create, range(96))) == {200}
    assert len(SG(emulator).listall(limit=500).json()["msg"]) == 96
