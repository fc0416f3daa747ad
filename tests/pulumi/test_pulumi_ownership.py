"""Pulumi front, issue 12: `adopt` moves the owner; a refresh after an outside edit re-sends the secret.

Direct provider calls (as the provider process makes them) against the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pulumi_helpers import ORG, api_props, configured, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider
from sg_bitbucket_iac.tags import FINGERPRINT_TAG, MANAGED_TAG, OWNER_TAG

RECORD = f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main"


def cli_created(emulator: Emulator, token: str) -> None:
    """A connector the CLI created: its owner tag and its bookkeeping markers."""
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [{
        "Id": "bitbucket_main", "ResourceName": "bitbucket-main", "Tags": [],
        "ContextTags": {OWNER_TAG: "cli", MANAGED_TAG: "true", FINGERPRINT_TAG: "x", "team": "platform",
                        "sg-bitbucket-iac/workspace": "acme"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


def test_create_refuses_a_cli_owned_connector_and_adopt_moves_the_owner(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_created(emulator, tokens["api"])
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    assert "owned by cli" in str(caught.value) and "adopt=True" in str(caught.value)
    assert raw_record(emulator)["ContextTags"][OWNER_TAG] == "cli"
    adopted = provider.create(api_props(tokens["api"], adopt=True))
    assert adopted.id == "bitbucket_main"
    tags = raw_record(emulator)["ContextTags"]
    assert tags[OWNER_TAG] == "pulumi" and tags["team"] == "platform"
    assert MANAGED_TAG not in tags and FINGERPRINT_TAG not in tags
    assert "was owned by cli; now owned by pulumi" in capsys.readouterr().err


def test_create_writes_the_owner(provider: BitbucketConnectorProvider, emulator: Emulator,
                                 tokens: dict[str, str]) -> None:
    provider.create(api_props(tokens["api"]))
    assert raw_record(emulator)["ContextTags"][OWNER_TAG] == "pulumi"


def test_refresh_after_an_outside_swap_plans_a_resend(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
) -> None:
    props = api_props(tokens["api"])
    created = provider.create(props)
    assert created.outs is not None
    unchanged = provider.read(created.id, created.outs)
    assert provider.diff(created.id, unchanged.outs, props).changes is False
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    emulator.admin("POST", "/clock", {"now": later})
    emulator.admin("PATCH", RECORD, {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{tokens['api2']}",
        "bitbucketEmail": "alice@acme.io"}]}})
    emulator.admin("POST", "/clock", {"now": None})
    refreshed = provider.read(created.id, unchanged.outs)
    assert refreshed.outs is not None and refreshed.outs["credentials_fingerprint"] is None
    assert provider.diff(created.id, refreshed.outs, props).changes is True
    again = provider.read(created.id, refreshed.outs)  # a second refresh keeps the re-send pending
    assert provider.diff(created.id, again.outs, props).changes is True
    updated = provider.update(created.id, refreshed.outs, props)
    assert updated.outs is not None and updated.outs["credentials_fingerprint"]
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"
    assert provider.diff(created.id, provider.read(created.id, updated.outs).outs, props).changes is False


def test_create_refuses_a_name_another_connector_uses(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
) -> None:
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [{
        "Id": "bitbucket-main-ui", "ResourceName": "bitbucket-main", "Tags": [], "ContextTags": {},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "ACCESS_TOKEN",
                                                          "bitbucketAccessToken": tokens["access"]}]},
    }]})
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    text = str(caught.value)
    assert "already used by connector bitbucket-main-ui" in text
    assert "`connector_id=\"bitbucket-main-ui\"` and `adopt=True`" in text and "`id:" not in text  # Pulumi words
    assert tokens["api"] not in text
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert [r["Id"] for r in records] == ["bitbucket-main-ui"]


def seeded(emulator: Emulator, connector_id: str, name: str, token: str, owner: str | None) -> None:
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [], "ContextTags": {OWNER_TAG: owner} if owner else {},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "ACCESS_TOKEN",
                                                          "bitbucketAccessToken": token}]},
    }]})


def test_check_of_a_new_resource_says_at_preview_what_create_would_refuse(
    emulator: Emulator, tokens: dict[str, str],
) -> None:
    props = api_props(tokens["api"])

    def failures(**extra: object) -> list[tuple[str, str]]:  # a provider process per command, as the CLI runs it
        return [(f.property, f.reason) for f in configured(emulator).check({}, {**props, **extra}).failures]

    assert failures() == []  # nothing in the way yet
    seeded(emulator, "bitbucket-main-ui", "bitbucket-main", tokens["access"], None)  # same name, another Id
    ((where, why),) = failures()
    assert where == "name" and "already used by connector bitbucket-main-ui" in why
    seeded(emulator, "bitbucket_main", "bitbucket-main", tokens["access"], "cli")  # and the Id, the CLI's
    ((where, why),) = failures()
    assert where == "adopt" and "owned by cli" in why
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")
    seeded(emulator, "bitbucket_main", "bitbucket-main", tokens["access"], None)  # the Id, nobody's
    ((where, why),) = failures()
    assert where == "connector_id" and "set adopt=True" in why and tokens["api"] not in why
    assert failures(adopt=True) == []


def test_check_lets_a_replacement_through_while_the_connector_it_replaces_holds_the_name(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
) -> None:
    old = provider.create({**api_props(tokens["api"]), "connector_id": "moved_v1"})
    news = {**api_props(tokens["api"]), "connector_id": "moved_v2"}
    # Pulumi diffs first (a new connector_id: replace), then checks the replacement with empty olds.
    assert provider.diff(old.id, old.outs or {}, news).replaces == ["connector_id"]
    assert provider.check({}, news).failures == []
    with pytest.raises(BitbucketConnectorError, match="already used by connector moved_v1"):
        provider.create(news)  # Create comes after the delete; while the old one holds the name it refuses
    # Another stack's connector with the name is no replacement of this one: refused at check.
    other = configured(emulator)
    (failure,) = other.check({}, news).failures
    assert failure.property == "name" and "already used by connector moved_v1" in failure.reason


@pytest.mark.parametrize("word", ["false", "no", "0", "off"])
def test_adopt_given_as_a_word_for_no_does_not_take_the_connector_over(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str], word: str,
) -> None:
    """A string from config (`adopt: ${config.adopt}`) is read by the settings' words, never by truthiness."""
    cli_created(emulator, tokens["api"])
    found = provider.check({}, api_props(tokens["api"], adopt=word)).failures
    assert [f.property for f in found] == ["adopt"] and "owned by cli" in found[0].reason
    with pytest.raises(BitbucketConnectorError, match="owned by cli"):
        provider.create(api_props(tokens["api"], adopt=word))
    assert raw_record(emulator)["ContextTags"][OWNER_TAG] == "cli"


def test_adopt_that_is_no_yes_or_no_is_refused_before_any_request(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
) -> None:
    cli_created(emulator, tokens["api"])
    found = provider.check({}, api_props(tokens["api"], adopt="flase")).failures
    assert [(f.property, f.reason) for f in found] == [("adopt", "adopt='flase' is not a boolean; use true or false")]
    with pytest.raises(BitbucketConnectorError, match="adopt='flase' is not a boolean"):
        provider.create(api_props(tokens["api"], adopt="flase"))
    assert raw_record(emulator)["ContextTags"][OWNER_TAG] == "cli"
