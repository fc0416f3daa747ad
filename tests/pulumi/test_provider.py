"""The dynamic provider's methods called directly (as the provider process would), against the emulator."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi_helpers import API_KEY, ORG, access_props, api_props, configured, raw_record, stats

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import (
    INPUT_KEYS,
    OUTPUT_KEYS,
    BitbucketConnectorProvider,
    _warn,
    connector_data,
    property_of,
)


def created(provider: BitbucketConnectorProvider, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check then Create, as the engine does for a new resource."""
    assert provider.check({}, props).failures == []
    result = provider.create(props)
    assert result.outs is not None
    return result.id, result.outs


def failures(provider: BitbucketConnectorProvider, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, str]:
    return {f.property: f.reason for f in provider.check(olds, news).failures}


# --------------------------------------------------------------------------- pure mapping
@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("auth.email", "email"),
        ("auth.type", "auth_type"),
        ("auth.scope", "access_token_scope"),
        ("auth", "auth_type"),
        ("id", "connector_id"),
        ("tags[1]", "tags"),
        ("name", "name"),
        ("", ""),
    ],
)
def test_problem_paths_map_to_property_keys(path: str, key: str) -> None:
    assert property_of(path) == key


def test_flat_properties_become_the_backend_shape() -> None:
    data = connector_data(access_props("tok", repository="infra", access_token_scope=None, connector_id="x_1"))
    assert data == {
        "name": "bitbucket-main",
        "id": "x_1",
        "workspace": "acme",
        "auth": {"type": "access_token", "access_token": "tok", "repository": "infra"},
    }


def test_every_input_except_directives_is_an_output() -> None:
    assert set(INPUT_KEYS) - set(OUTPUT_KEYS) == {"preflight", "adopt", "configuration"}


def test_pickled_provider_is_a_reference_without_settings(emulator: Emulator) -> None:
    provider = configured(emulator)
    provider.check({}, api_props("x" * 20, preflight=False))  # builds the engine (and client) in memory
    blob = base64.b64decode(serialize_provider(provider))
    assert b"sg_bitbucket_iac.pulumi.provider" in blob and b"BitbucketConnectorProvider" in blob
    assert len(blob) < 1024
    assert API_KEY.encode() not in blob and emulator.stackguardian_url.encode() not in blob


# --------------------------------------------------------------------------- check
def test_check_reports_each_problem_on_its_property(provider: BitbucketConnectorProvider, sentinel: str) -> None:
    props = api_props(sentinel, email="alice-at-acme", access_token=sentinel + "-x", workspace="Not A Slug")
    found = failures(provider, {}, props)
    assert set(found) == {"email", "access_token", "workspace"}
    assert "belongs to auth type access_token" in found["access_token"]
    assert sentinel not in repr(found)


def test_check_rejects_a_token_with_whitespace_without_echoing_it(
    provider: BitbucketConnectorProvider, sentinel: str
) -> None:
    found = failures(provider, {}, api_props(sentinel + " tail"))
    assert list(found) == ["api_token"] and "whitespace" in found["api_token"]
    assert sentinel not in found["api_token"]


def test_check_skips_what_is_unknown_during_preview(provider: BitbucketConnectorProvider, emulator: Emulator) -> None:
    emulator.admin("DELETE", "/stats")
    assert failures(provider, {}, api_props(Unknown())) == {}  # type: ignore[arg-type]
    assert failures(provider, {}, api_props("tok-value-123", auth_type=Unknown())) == {}
    # What is known is still checked.
    assert set(failures(provider, {}, api_props(Unknown(), email="no-at"))) == {"email"}  # type: ignore[arg-type]
    assert stats(emulator)["bitbucket"]["total"] == 0  # no preflight with an unknown credential


def test_bad_token_fails_check_naming_the_missing_scopes_and_nothing_is_created(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    emulator.admin("DELETE", "/stats")
    found = failures(provider, {}, api_props(tokens["weak"]))
    assert list(found) == ["api_token"]
    reason = found["api_token"]
    for scope in ("read:workspace:bitbucket", "read:repository:bitbucket", "read:pullrequest:bitbucket"):
        assert scope in reason
    assert tokens["weak"] not in reason
    sg = stats(emulator)["stackguardian"]
    assert sg["total"] == 0  # check never writes; the engine stops at a failed check
    with pytest.raises(Exception, match="404"):
        raw_record(emulator)


def test_preflight_can_be_turned_off_per_resource(
    provider: BitbucketConnectorProvider, emulator: Emulator, sentinel: str
) -> None:
    props = api_props(sentinel + "-unknown-to-bitbucket", preflight=False)
    id_, outs = created(provider, props)
    assert id_ == "bitbucket_main" and outs["auth_type"] == "api_token"
    assert stats(emulator)["bitbucket"]["total"] == 0


def test_preflight_can_be_turned_off_in_stack_config(emulator: Emulator, sentinel: str) -> None:
    provider = configured(emulator, preflight="false")
    created(provider, api_props(sentinel + "-unknown-to-bitbucket"))
    assert stats(emulator)["bitbucket"]["total"] == 0


def test_app_password_is_refused_from_2026_06_09_with_pulumis_way_to_switch(
    emulator: Emulator, sentinel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-06-10T00:00:00Z")
    provider = configured(emulator)
    props = {
        "name": "legacy",
        "workspace": "acme",
        "auth_type": "app_password",
        "username": "alice",
        "app_password": sentinel,
    }
    found = failures(provider, {}, props)
    # Pulumi's own way (`sg-bitbucket migrate` refuses a connector Pulumi owns: the advice would loop).
    assert list(found) == ["auth_type"] and "auth=ApiTokenAuth(" in found["auth_type"]
    assert "sg-bitbucket " not in found["auth_type"]
    assert "auth=ApiTokenAuth(" in found["auth_type"]  # first the way a Pulumi program migrates in place
    assert sentinel not in found["auth_type"]


def test_unchanged_credentials_are_not_preflighted_again(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    props = api_props(tokens["api"])
    emulator.admin("DELETE", "/stats")
    assert failures(provider, props, {**props, "description": "new text"}) == {}
    assert stats(emulator)["bitbucket"]["total"] == 0


# --------------------------------------------------------------------------- create / diff / update
def test_create_returns_every_output_and_echoes_secrets_only_under_their_key(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    props = api_props(tokens["api"], description="Main", tags=["platform"])
    assert failures(provider, {}, props) == {}  # preflight ran here ...
    emulator.admin("DELETE", "/stats")
    result = provider.create(props)
    assert stats(emulator)["bitbucket"]["total"] == 0  # ... and its result is reused by the write
    id_, outs = result.id, result.outs
    assert id_ == "bitbucket_main" and outs is not None
    assert set(outs) == set(OUTPUT_KEYS)
    assert outs["api_token"] == tokens["api"]
    assert [k for k, v in outs.items() if isinstance(v, str) and tokens["api"] in v] == ["api_token"]
    assert outs["connector_id"] == "bitbucket_main" and outs["org"] == ORG
    assert outs["authenticated"] is True and outs["modified_at"] and outs["created_at"]
    assert outs["credentials_fingerprint"].startswith("scrypt1:")
    assert outs["tags"] == ["platform"] and outs["description"] == "Main"
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"


def test_no_change_diffs_clean(provider: BitbucketConnectorProvider, tokens: dict[str, str]) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    diff = provider.diff(id_, outs, api_props(tokens["api"]))
    assert diff.changes is False and diff.replaces == []


def test_auth_type_switch_is_an_update_that_replaces_the_whole_credential_set(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    created_at = raw_record(emulator)["CreatedAt"]
    news = access_props(tokens["access"])
    assert failures(provider, api_props(tokens["api"]), news) == {}
    diff = provider.diff(id_, outs, news)
    assert diff.changes is True and diff.replaces == [] and not diff.delete_before_replace
    new_outs = provider.update(id_, outs, news).outs
    assert new_outs is not None
    record = raw_record(emulator)
    assert record["Id"] == "bitbucket_main" and record["CreatedAt"] == created_at
    config = record["Settings"]["config"][0]
    assert config == {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": tokens["access"]}
    assert "bitbucketCreds" not in config and "bitbucketEmail" not in config
    assert new_outs["auth_type"] == "access_token" and new_outs["access_token"] == tokens["access"]
    assert new_outs["api_token"] is None and new_outs["email"] is None and new_outs["username"] is None
    assert new_outs["credentials_fingerprint"] != outs["credentials_fingerprint"]
    assert provider.diff(id_, new_outs, news).changes is False


def test_switch_to_api_token_without_email_fails_check_before_any_request(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    created(provider, access_props(tokens["access"]))
    emulator.admin("DELETE", "/stats")
    news = api_props(tokens["api"])
    del news["email"]
    found = failures(provider, access_props(tokens["access"]), news)
    assert list(found) == ["email"] and "required for auth type api_token" in found["email"]
    counts = stats(emulator)
    assert counts["stackguardian"]["total"] == 0 and counts["bitbucket"]["total"] == 0


def test_rotation_within_a_type_updates_only_the_secret(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"], description="kept"))
    news = api_props(tokens["api2"], description="kept")
    diff = provider.diff(id_, outs, news)
    assert diff.changes is True and diff.replaces == []
    new_outs = provider.update(id_, outs, news).outs
    assert new_outs is not None
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api2']}"
    changed = {k for k in OUTPUT_KEYS if new_outs[k] != outs[k]}
    assert changed <= {"api_token", "credentials_fingerprint", "modified_at", "authenticated"}
    assert {"api_token", "credentials_fingerprint", "modified_at"} <= changed


def test_a_description_change_does_not_send_credentials(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    news = api_props(tokens["api"], description="new text")
    assert provider.diff(id_, outs, news).changes is True
    emulator.admin("DELETE", "/stats")
    new_outs = provider.update(id_, outs, news).outs
    assert new_outs is not None and new_outs["description"] == "new text"
    assert stats(emulator)["bitbucket"]["total"] == 0  # no preflight: nothing credential-related is sent
    assert new_outs["credentials_fingerprint"] == outs["credentials_fingerprint"]


def test_a_rename_keeps_the_derived_id_and_updates_in_place(
    emulator: Emulator, tokens: dict[str, str]
) -> None:
    provider = configured(emulator)
    id_, outs = created(provider, api_props(tokens["api"]))
    renamed_props = api_props(tokens["api"], name="bitbucket-renamed")
    renamed = provider.diff(id_, outs, renamed_props)
    assert renamed.changes and renamed.replaces == []
    new_outs = provider.update(id_, outs, renamed_props).outs
    assert new_outs is not None and new_outs["connector_id"] == id_ == "bitbucket_main"
    record = emulator.admin("GET", f"/stackguardian/orgs/acme/integrations/{id_}")
    assert record["ResourceName"] == "bitbucket-renamed"
    assert provider.diff(id_, new_outs, renamed_props).changes is False


def test_a_new_id_or_org_replaces_the_connector(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator)
    id_, outs = created(provider, api_props(tokens["api"]))
    new_id = provider.diff(id_, outs, api_props(tokens["api"], connector_id="another_id"))
    assert new_id.changes and new_id.replaces == ["connector_id"] and new_id.delete_before_replace
    moved = configured(emulator, org="other-org").diff(id_, outs, api_props(tokens["api"]))
    assert moved.replaces == ["org"] and moved.delete_before_replace


def test_existing_connector_needs_adopt(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    created(provider, api_props(tokens["api"]))
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api2"]))
    text = str(caught.value)
    assert "adopt=True" in text and "BitbucketConnector.get" in text
    assert tokens["api2"] not in text and caught.value.__suppress_context__
    adopted = provider.create(api_props(tokens["api2"], adopt=True))
    assert adopted.id == "bitbucket_main" and adopted.outs is not None
    assert adopted.outs["api_token"] == tokens["api2"]
    assert raw_record(emulator)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api2']}"


# --------------------------------------------------------------------------- read / delete
def test_refresh_without_drift_keeps_inputs_and_secrets(
    provider: BitbucketConnectorProvider, tokens: dict[str, str]
) -> None:
    props = api_props(tokens["api"], tags=["platform"])
    id_, outs = created(provider, props)
    result = provider.read(id_, outs)
    assert result.id == id_ and result.outs == outs and result.inputs is not None
    assert result.inputs["api_token"] == tokens["api"]
    assert provider.diff(id_, result.outs, props).changes is False


def test_refresh_shows_an_out_of_band_edit(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    props = api_props(tokens["api"], description="declared")
    id_, outs = created(provider, props)
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/{id_}", {"Description": "edited behind our back"})
    result = provider.read(id_, outs)
    assert result.outs is not None and result.inputs is not None
    assert result.outs["description"] == "edited behind our back"
    assert result.inputs["description"] == "edited behind our back"
    assert result.outs["api_token"] == tokens["api"]
    assert provider.diff(id_, result.outs, props).changes is True  # the next `up` puts it back


def test_refresh_after_an_auth_type_switch_outside_drops_the_old_credentials(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    emulator.admin(
        "PATCH",
        f"/stackguardian/orgs/{ORG}/integrations/{id_}",
        {
            "Settings": {
                "kind": "BITBUCKET_ORG",
                "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": tokens["access"]}],
            }
        },
    )
    result = provider.read(id_, outs)
    assert result.outs is not None
    assert result.outs["auth_type"] == "access_token"
    assert result.outs["api_token"] is None and result.outs["credentials_fingerprint"] is None
    assert provider.diff(id_, result.outs, api_props(tokens["api"])).changes is True


def test_deleted_outside_reads_as_gone_and_delete_tolerates_it(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    provider.delete(id_, outs)
    with pytest.raises(Exception, match="404"):
        raw_record(emulator)
    result = provider.read(id_, outs)
    assert not result.id and result.outs == {}
    provider.delete(id_, outs)  # already gone: fine


def test_update_after_an_outside_deletion_recreates_with_the_same_id(
    provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str]
) -> None:
    id_, outs = created(provider, api_props(tokens["api"]))
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{id_}")
    new_outs = provider.update(id_, outs, api_props(tokens["api"], description="again")).outs
    assert new_outs is not None and new_outs["connector_id"] == id_
    assert raw_record(emulator)["Description"] == "again"


def test_read_and_delete_use_the_org_recorded_in_state(emulator: Emulator, tokens: dict[str, str]) -> None:
    id_, outs = created(configured(emulator), api_props(tokens["api"]))
    elsewhere = configured(emulator, org="other-org")  # the stack's org setting changed since
    result = elsewhere.read(id_, outs)
    assert result.id == id_ and result.outs is not None and result.outs["org"] == ORG
    elsewhere.delete(id_, outs)
    with pytest.raises(Exception, match="404"):
        raw_record(emulator)


def test_get_reads_without_state_and_without_secrets(
    provider: BitbucketConnectorProvider, tokens: dict[str, str]
) -> None:
    id_, _ = created(provider, api_props(tokens["api"]))
    result = provider.read(id_, {})
    assert result.outs is not None
    assert result.outs["name"] == "bitbucket-main" and result.outs["auth_type"] == "api_token"
    assert result.outs["email"] == "alice@acme.io" and result.outs["workspace"] == "acme"
    assert tokens["api"] not in repr(result.outs)


def test_get_of_a_missing_id_is_an_error_not_an_empty_resource(provider: BitbucketConnectorProvider) -> None:
    # What BitbucketConnector.get sends: no state, every output key None (the SDK adds __provider).
    with pytest.raises(BitbucketConnectorError, match="no_such_connector not found in StackGuardian org acme"):
        provider.read("no_such_connector", dict.fromkeys(OUTPUT_KEYS))


# --------------------------------------------------------------------------- errors
def test_errors_never_carry_secrets_or_chained_causes(emulator: Emulator, tokens: dict[str, str]) -> None:
    provider = configured(emulator, apiKey="wrong-" + tokens["api"])
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    text = str(caught.value)
    assert "401" in text and tokens["api"] not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_server_texts_reach_the_cli_with_control_characters_escaped(
        provider: BitbucketConnectorProvider, emulator: Emulator, tokens: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "status": 400,
                                       "body": {"msg": "name \x1b[2Jcleared\x07 the screen"}})
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    text = str(caught.value)
    assert "\\x1b[2Jcleared\\x07" in text and "\x1b" not in text and "\x07" not in text
    _warn("a name from the UI: \x1b]8;;http://evil\x07link")
    err = capsys.readouterr().err
    assert "\\x1b]8;;http://evil\\x07link" in err and "\x1b" not in err


def test_missing_settings_are_reported_with_the_stack_config_names(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = BitbucketConnectorProvider()  # never configured, nothing in the environment
    with pytest.raises(BitbucketConnectorError, match="stackguardian:org"):
        provider.check({}, api_props("x" * 20))
    monkeypatch.setenv("SG_ORG", ORG)  # the environment is the fallback for every setting
    with pytest.raises(BitbucketConnectorError, match="stackguardian:apiKey"):
        BitbucketConnectorProvider().check({}, api_props("x" * 20))
