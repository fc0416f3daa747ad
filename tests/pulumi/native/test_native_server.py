"""The native provider's gRPC service, driven in this process as the engine drives it, on the emulator."""

from __future__ import annotations

import json

import grpc
import pytest
from native_driver import UNKNOWN, Driver, is_secret, plain, unwrap
from pulumi.runtime import proto

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.native.schema import schema_json
from sg_bitbucket_iac.tags import OWNER_TAG


def api(token: str, **extra: object) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "api_token", "username": "alice",
            "email": "alice@acme.io", "apiToken": token, **extra}


def access(token: str, **extra: object) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "access_token",
            "accessTokenScope": "workspace", "accessToken": token, **extra}


def record(emulator: Emulator, connector_id: str = "bitbucket_main") -> dict[str, object]:
    return dict(emulator.admin("GET", f"/stackguardian/orgs/acme/integrations/{connector_id}"))


def test_schema_and_plugin_info(driver: Driver) -> None:
    assert driver.stub.GetSchema(proto.GetSchemaRequest(version=0)).schema == schema_json()
    assert driver.plugin_info().version == __version__


def test_check_validates_preflights_and_names_the_property(driver: Driver, tokens: dict[str, str],
                                                           sentinel: str) -> None:
    ok = driver.check(api(tokens["api"]))
    assert not ok.failures
    inputs = plain(ok.inputs)
    assert is_secret(inputs["apiToken"]) and inputs["name"] == "bitbucket-main"

    weak = driver.check(api(tokens["weak"]))
    assert [f.property for f in weak.failures] == ["apiToken"]
    assert "read:repository:bitbucket" in weak.failures[0].reason and sentinel not in weak.failures[0].reason

    missing = driver.check({"workspace": "acme", "authType": "api_token", "username": "alice", "apiToken": "x" * 20,
                            "stray": 1, "preflight": "maybe"})
    reasons = {f.property: f.reason for f in missing.failures}
    assert "stray is not a property" in reasons[""] and "true or false" in reasons["preflight"]

    unnamed = driver.check({k: v for k, v in api(tokens["api"]).items() if k != "name"}, name="from-urn")
    assert plain(unnamed.inputs)["name"] == "from-urn"  # the resource's name, like the dynamic resource


def test_unknowns_wait_for_apply(driver: Driver, emulator: Emulator, tokens: dict[str, str]) -> None:
    assert not driver.check(api(UNKNOWN, description=UNKNOWN)).failures
    preview = driver.create(api(tokens["api"], description=UNKNOWN), preview=True)
    outs = plain(preview.properties)
    assert preview.id == "bitbucket_main" and outs["authenticated"] == UNKNOWN and outs["description"] == UNKNOWN
    assert emulator.admin("GET", "/stats")["stackguardian"]["by_method"].get("POST", 0) == 0  # a preview writes nothing


def test_create_diff_update_read_delete(driver: Driver, emulator: Emulator, tokens: dict[str, str],
                                        sentinel: str) -> None:
    created = driver.create(api(tokens["api"], description="Main"))
    assert created.id == "bitbucket_main"
    outs = plain(created.properties)
    assert is_secret(outs["apiToken"]) and is_secret(outs["credentialsFingerprint"])
    assert sentinel not in json.dumps({k: v for k, v in outs.items() if not is_secret(v)})
    assert record(emulator)["ContextTags"][OWNER_TAG] == "pulumi"  # type: ignore[index]
    state = unwrap(outs)

    same = driver.diff("bitbucket_main", state, api(tokens["api"], description="Main"))
    assert same.changes == proto.DiffResponse.DIFF_NONE

    switch = driver.diff("bitbucket_main", state, access(tokens["access"], description="Main"))
    assert switch.changes == proto.DiffResponse.DIFF_SOME and not switch.replaces
    assert {"authType", "apiToken", "accessToken", "email", "username"} <= set(switch.detailedDiff)
    assert switch.detailedDiff["authType"].kind == proto.PropertyDiff.UPDATE

    moved = driver.diff("bitbucket_main", state, api(tokens["api"], connectorId="other_id"))
    assert list(moved.replaces) == ["connectorId"] and moved.deleteBeforeReplace

    updated = unwrap(plain(driver.update("bitbucket_main", state, access(tokens["access"], description="Main"))
                           .properties))
    assert updated["authType"] == "access_token" and updated["apiToken"] is None
    config = record(emulator)["Settings"]["config"][0]  # type: ignore[index]
    assert config["bitbucketAuthType"] == "ACCESS_TOKEN" and not config.get("bitbucketCreds")

    emulator.admin("PATCH", "/stackguardian/orgs/acme/integrations/bitbucket_main", {"Description": "outside"})
    read = driver.read("bitbucket_main", updated, access(tokens["access"], description="Main"))
    assert unwrap(plain(read.properties))["description"] == "outside"
    assert unwrap(plain(read.inputs))["accessToken"] == tokens["access"]  # the secret is kept from state

    driver.delete("bitbucket_main", updated)
    assert driver.read("bitbucket_main", updated).id == ""  # gone: refresh drops it


def test_import_reads_only_and_adopts_what_another_front_owns(driver: Driver, emulator: Emulator,
                                                              tokens: dict[str, str]) -> None:
    driver.create(api(tokens["api"]))
    emulator.admin("PATCH", "/stackguardian/orgs/acme/integrations/bitbucket_main",
                   {"ContextTags": {**record(emulator)["ContextTags"], OWNER_TAG: "terraform"}})  # type: ignore[dict-item]
    before = emulator.admin("GET", "/stats")["stackguardian"]["by_method"].get("PATCH", 0)
    imported = driver.read("bitbucket_main")
    inputs = unwrap(plain(imported.inputs))
    assert inputs["adopt"] is True and inputs["workspace"] == "acme" and "apiToken" not in inputs
    assert emulator.admin("GET", "/stats")["stackguardian"]["by_method"].get("PATCH", 0) == before

    with pytest.raises(grpc.RpcError) as missing:
        driver.read("nope")
    assert "not found" in missing.value.details() and "\n" not in missing.value.details()


def test_get_connector(driver: Driver, tokens: dict[str, str]) -> None:
    driver.create(api(tokens["api"]))
    by_id = driver.invoke("sgbitbucket:index:getConnector", {"connectorId": "bitbucket_main"})
    found = plain(getattr(by_id, "return"))
    assert found["name"] == "bitbucket-main" and found["authType"] == "api_token" and "apiToken" not in found
    by_name = driver.invoke("sgbitbucket:index:getConnector", {"name": "bitbucket-main"})
    assert plain(getattr(by_name, "return"))["connectorId"] == "bitbucket_main"
    neither = driver.invoke("sgbitbucket:index:getConnector", {})
    assert "exactly one of connectorId and name" in neither.failures[0].reason
    with pytest.raises(grpc.RpcError):
        driver.invoke("sgbitbucket:index:other", {})


def test_errors_are_one_line_without_a_secret(driver: Driver, emulator: Emulator, tokens: dict[str, str],
                                              sentinel: str) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/$", "method": "POST",
                                       "status": 401})
    with pytest.raises(grpc.RpcError) as failed:
        driver.create(api(tokens["api"]))
    details = failed.value.details()
    assert details.startswith("create: StackGuardian") and "\n" not in details
    assert "Traceback" not in details and sentinel not in details and "sgo_test_key" not in details


def test_check_config(driver: Driver) -> None:
    request = proto.CheckRequest(urn="urn:pulumi:test::native::pulumi:providers:sgbitbucket::default")
    request.news.update({"apiUrl": "http://api.example.com", "preflight": "sometimes"})
    failures = {f.property: f.reason for f in driver.stub.CheckConfig(request).failures}
    assert "plain http://" in failures["apiUrl"] and "not a boolean" in failures["preflight"]


def test_another_fronts_connector_needs_adopt_which_moves_the_owner(driver: Driver, emulator: Emulator,
                                                                    tokens: dict[str, str]) -> None:
    driver.create(api(tokens["api"]))
    emulator.admin("PATCH", "/stackguardian/orgs/acme/integrations/bitbucket_main",
                   {"ContextTags": {**record(emulator)["ContextTags"], OWNER_TAG: "terraform"}})  # type: ignore[dict-item]
    refused = driver.check(api(tokens["api"]))
    assert [f.property for f in refused.failures] == ["adopt"]
    assert "owned by terraform" in refused.failures[0].reason and "`adopt: true`" in refused.failures[0].reason
    assert not driver.check(api(tokens["api"], adopt=True)).failures
    driver.create(api(tokens["api"], adopt=True))
    assert record(emulator)["ContextTags"][OWNER_TAG] == "pulumi"  # type: ignore[index]


def test_the_engine_speaks_in_the_native_providers_words(driver: Driver, emulator: Emulator,
                                                         tokens: dict[str, str]) -> None:
    """Problems and refusals come from the backend worded by NATIVE_PULUMI_WORDING (wording.py): camelCase
    property names, `pulumi import sgbitbucket:index:Connector`, never the dynamic resource's words."""
    scope = driver.check({**access(tokens["access"]), "accessTokenScope": "repository"})
    assert [f.property for f in scope.failures] == ["repository"]  # the property to set
    assert "accessTokenScope 'repository' needs `repository`" in scope.failures[0].reason

    driver.create(api(tokens["api"]))
    emulator.admin("PATCH", "/stackguardian/orgs/acme/integrations/bitbucket_main",
                   {"ContextTags": {}})  # now nobody's: made (or forgotten) elsewhere
    exists = driver.check(api(tokens["api"]))
    assert [f.property for f in exists.failures] == ["connectorId"]
    reason = exists.failures[0].reason
    assert "already exists" in reason and "pulumi import sgbitbucket:index:Connector NAME bitbucket_main" in reason
    assert "BitbucketConnector" not in reason and "adopt=True" in reason  # both spellings of `adopt`

    clash = driver.check(api(tokens["api"], connectorId="another_id"))
    assert [f.property for f in clash.failures] == ["name"]
    assert "pulumi import sgbitbucket:index:Connector NAME bitbucket_main" in clash.failures[0].reason
