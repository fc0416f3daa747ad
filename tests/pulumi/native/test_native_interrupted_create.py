"""The native provider's creates across runs (issues 20 and 22): a create StackGuardian stored but no run
recorded is finished by the same stack's next run (its identity is the resource's URN), a replacement never
clashes with itself, and a new `sgbitbucket:org` replaces the connector with a warning naming it.

"The next run" is a new plugin (a new servicer), as the engine starts one per command.
"""

from __future__ import annotations

import grpc
import pytest
from interruptions import lose_the_next_create
from native_driver import Driver, plain, running, unwrap, urn

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import CREATED_BY_TAG, OWNER_TAG

RECORDS = "/stackguardian/orgs/acme/integrations"


def api(token: str, **extra: object) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "api_token", "username": "alice",
            "email": "alice@acme.io", "apiToken": token, **extra}


def interrupted(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, props: dict[str, object]) -> None:
    """An `up` whose create StackGuardian stored while every answer after it was lost."""
    with running() as first:
        first.configure(emulator)
        assert not first.check(props).failures
        lose_the_next_create(first.servicer.backend.engine(), emulator, monkeypatch)
        with pytest.raises(grpc.RpcError):
            first.create(props)
    tags = emulator.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"]
    assert tags[OWNER_TAG] == "pulumi" and tags[CREATED_BY_TAG].startswith("cm1:")


def test_the_next_up_finishes_a_create_its_stack_left_unrecorded(
        emulator: Emulator, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    props = api(tokens["api"])
    interrupted(emulator, monkeypatch, props)
    with running() as again:
        again.configure(emulator)
        assert not again.check(props).failures  # preview: no "already exists"
        created = again.create(props)
        outs = unwrap(plain(created.properties))
        assert created.id == "bitbucket_main" and outs["apiToken"] == tokens["api"] and outs["credentialsFingerprint"]
        assert "interrupted after StackGuardian stored the create" in capsys.readouterr().err
        assert [r["Id"] for r in emulator.admin("GET", RECORDS)["records"]] == ["bitbucket_main"]
        assert again.diff(created.id, outs, props).changes == again.diff(created.id, outs, props).DIFF_NONE


@pytest.mark.parametrize("other", ["stack", "project", "resource", "credential", "dynamic resource"])
def test_no_other_stacks_connector_is_taken(emulator: Emulator, tokens: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch, other: str) -> None:
    interrupted(emulator, monkeypatch, api(tokens["api"]))
    props, asking = {
        "stack": (api(tokens["api"]), urn(stack="prod")),
        "project": (api(tokens["api"]), urn(project="other")),
        "resource": (api(tokens["api"]), urn("copy")),
        "credential": (api(tokens["api2"]), urn()),
        # the dynamic resource's identity is no URN: the native provider never takes its creates, nor it ours
        "dynamic resource": (api(tokens["api"]), ""),
    }[other]
    with running() as again:
        again.configure(emulator)
        failures = {f.property: f.reason for f in again.check(props, urn=asking).failures}
        assert "already exists" in failures["connectorId"], failures
        assert "pulumi import sgbitbucket:index:Connector NAME bitbucket_main" in failures["connectorId"]
        with pytest.raises(grpc.RpcError) as caught:
            again.create(props, urn=asking)
        assert "already exists" in caught.value.details()


def test_a_replacement_never_clashes_with_itself(driver: Driver, emulator: Emulator, tokens: dict[str, str]) -> None:
    """A new connectorId replaces the connector (delete first): the replacement's name check, run by
    Pulumi with empty olds while the old connector still holds the name, does not count that one."""
    created = driver.create(api(tokens["api"], connectorId="main_v1"))
    state = unwrap(plain(created.properties))
    moved = api(tokens["api"], connectorId="main_v2")
    with running() as up:  # the next `pulumi up`: Check, Diff, the replacement's Check, Delete, Create
        up.configure(emulator)
        # Without a planned replacement, the same name under another Id is a clash, whoever owns it.
        clash = up.check(api(tokens["api"], connectorId="main_v3"))
        assert [f.property for f in clash.failures] == ["name"] and "main_v1" in clash.failures[0].reason
        assert not up.check(moved, olds=api(tokens["api"], connectorId="main_v1")).failures
        diff = up.diff("main_v1", state, moved)
        assert list(diff.replaces) == ["connectorId"] and diff.deleteBeforeReplace
        assert not up.check(moved).failures  # the replacement's own check: no clash with main_v1
        up.delete("main_v1", state)
        assert up.create(moved).id == "main_v2"
    assert [r["Id"] for r in emulator.admin("GET", RECORDS)["records"]] == ["main_v2"]


def test_a_new_org_replaces_the_connector_and_the_preview_names_it(
        driver: Driver, emulator: Emulator, tokens: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    emulator.admin("POST", "/orgs", {"org": "beta", "api_keys": ["sgo_test_key"]})
    created = driver.create(api(tokens["api"]))
    state = unwrap(plain(created.properties))
    assert state["org"] == "acme"
    with running() as moved:
        moved.configure(emulator, org="beta")
        diff = moved.diff(created.id, state, api(tokens["api"]))
        assert list(diff.replaces) == ["org"] and diff.deleteBeforeReplace
        err = " ".join(capsys.readouterr().err.split())
        assert "connector bitbucket_main moves from org acme to org beta" in err, err
        assert "deletes it in org acme and creates it in org beta" in err and "set sgbitbucket:org back" in err
        assert not moved.check(api(tokens["api"])).failures
        moved.delete(created.id, state)  # the engine deletes first, in the org the state recorded
        assert moved.create(api(tokens["api"])).id == "bitbucket_main"
    assert emulator.admin("GET", RECORDS)["records"] == []
    assert [r["Id"] for r in emulator.admin("GET", "/stackguardian/orgs/beta/integrations")["records"]] == [
        "bitbucket_main"]
