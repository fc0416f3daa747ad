"""A create stored in StackGuardian by an `up` that never recorded it, and a new stackguardian:org (issue 22).

The dynamic provider's methods are called as the provider process would; "the next `up`" is a new
provider, as the engine starts one per command.
"""

from __future__ import annotations

import json

import pytest
from interruptions import lose_the_next_create
from pulumi_helpers import ORG, api_props, configured, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.tags import CREATED_BY_TAG, OWNER_TAG


def identity(stack: str = "dev", resource: str = "main") -> str:
    """What BitbucketConnector puts in its `configuration` input."""
    return json.dumps({"front": "pulumi", "stack": f"organization/sg-test/{stack}", "resource": resource},
                      sort_keys=True)


def interrupted(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, props: dict[str, object]) -> None:
    provider = configured(emulator)
    assert provider.check({}, props).failures == []
    lose_the_next_create(provider._engine(), emulator, monkeypatch)
    with pytest.raises(BitbucketConnectorError):
        provider.create(props)
    tags = raw_record(emulator)["ContextTags"]
    assert tags[OWNER_TAG] == "pulumi" and tags[CREATED_BY_TAG].startswith("cm1:")


def test_the_next_up_finishes_a_create_its_stack_left_unrecorded(
        emulator: Emulator, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    props = api_props(tokens["api"], configuration=identity())
    interrupted(emulator, monkeypatch, props)
    again = configured(emulator)
    assert again.check({}, props).failures == []  # preview: no "already exists"
    result = again.create(props)
    assert result.id == "bitbucket_main" and result.outs is not None
    assert result.outs["api_token"] == tokens["api"] and result.outs["credentials_fingerprint"]
    assert "interrupted after StackGuardian stored the create" in capsys.readouterr().err
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert [r["Id"] for r in records] == ["bitbucket_main"]
    assert again.diff(result.id, result.outs, props).changes is False


@pytest.mark.parametrize("other", ["stack", "resource", "credential", "no identity"])
def test_no_other_stacks_connector_is_taken(emulator: Emulator, tokens: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch, other: str) -> None:
    interrupted(emulator, monkeypatch, api_props(tokens["api"], configuration=identity()))
    props = {
        "stack": api_props(tokens["api"], configuration=identity(stack="prod")),
        "resource": api_props(tokens["api"], configuration=identity(resource="copy")),
        "credential": api_props(tokens["api2"], configuration=identity()),
        "no identity": api_props(tokens["api"]),
    }[other]
    again = configured(emulator)
    failures = {f.property: f.reason for f in again.check({}, props).failures}
    assert "already exists" in failures["connector_id"] and "adopt=True" in failures["connector_id"], failures
    with pytest.raises(BitbucketConnectorError, match="already exists"):
        again.create(props)


def test_a_new_org_is_a_replacement_the_preview_names(emulator: Emulator, tokens: dict[str, str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    provider = configured(emulator)
    props = api_props(tokens["api"], configuration=identity())
    assert provider.check({}, props).failures == []
    created = provider.create(props)
    assert created.outs is not None
    moved = configured(emulator, org="beta").diff(created.id, created.outs, props)
    assert moved.replaces == ["org"] and moved.delete_before_replace
    err = capsys.readouterr().err
    assert f"connector bitbucket_main moves from org {ORG} to org beta" in err
    assert f"deletes it in org {ORG} and creates it in org beta" in err
