"""StackGuardian's wire format (wire.py): payloads out, records in, and records compared with what was sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from declarations import api_token_declaration, with_auth

from sg_bitbucket_iac.model import AUTH_CLASSES, AuthType, parse_connector
from sg_bitbucket_iac.tags import LAST_WRITE_TAG, OWNER_TAG, USERNAME_TAG, Front
from sg_bitbucket_iac.wire import (
    CREDENTIAL_KEYS,
    WIRE_SECRET_KEYS,
    answer_shows_write,
    create_differences,
    observed_from_record,
    patch_settings_payload,
    record_kind,
    to_create_payload,
    to_update_payload,
    unwrap_list_item,
    wire_json_default,
)

SENTINEL = "SENTINEL-wire-0123456789abcdef"


def api_token_connector(**overrides: Any) -> dict[str, Any]:
    return api_token_declaration(SENTINEL, **overrides)


def _wire(payload: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(json.dumps(payload, default=wire_json_default))
    return decoded


def test_wire_mapping_for_each_auth_type() -> None:
    api = parse_connector(api_token_connector(description="Main", tags=["platform"]))
    payload = _wire(to_create_payload(api, {"k": "v"}))
    assert payload == {
        "Id": "bitbucket_main",
        "ResourceName": "bitbucket-main",
        "Description": "Main",
        "Tags": ["platform"],
        "ContextTags": {"k": "v"},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{SENTINEL}",
            "bitbucketEmail": "alice@acme.io"}]},
    }
    access = parse_connector(with_auth(type="access_token", access_token=SENTINEL, repository="infra"))
    assert _wire(access.auth.wire_config()) == {"bitbucketAuthType": "ACCESS_TOKEN",
                                                     "bitbucketAccessToken": SENTINEL}
    app = parse_connector(with_auth(type="app_password", username="bob", app_password=SENTINEL))
    assert _wire(app.auth.wire_config()) == {"bitbucketAuthType": "APP_PASSWORD",
                                                  "bitbucketCreds": f"bob:{SENTINEL}"}
    # Unencoded, the payload holds only wrapped secrets.
    assert SENTINEL not in repr(to_create_payload(api))


def test_read_back_with_masked_secrets() -> None:
    record = {
        "Id": "bitbucket_main", "ResourceName": "bitbucket-main", "Description": "",
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "API_TOKEN",
                                                          "bitbucketCreds": "********",
                                                          "bitbucketEmail": "alice@acme.io"}]},
        "Tags": [], "ContextTags": {"sg-bitbucket-iac/workspace": "acme"},
        "CreatedAt": 1735689600000, "ModifiedAt": 1735689700000,
        "Authentication": {"authenticated": True, "authenticatedAt": 1735689700000},
    }
    observed = observed_from_record(record)
    assert observed.auth_type is AuthType.API_TOKEN
    assert observed.username is None and observed.email == "alice@acme.io" and observed.has_secret
    assert observed.workspace == "acme" and observed.authenticated is True
    assert observed.modified_at is not None and observed.modified_at.year == 2025
    # Echo mode shows the username; the secret part is never kept.
    record["Settings"]["config"][0]["bitbucketCreds"] = f"alice:{SENTINEL}"
    echoed = observed_from_record(record)
    assert echoed.username == "alice" and SENTINEL not in repr(echoed)
    # Omit mode: no secret key at all.
    del record["Settings"]["config"][0]["bitbucketCreds"]
    assert observed_from_record(record).has_secret is False


def test_auth_type_inferred_from_fields_when_absent() -> None:
    base = {"Id": "x", "ResourceName": "x", "Settings": {"kind": "BITBUCKET_ORG", "config": [{}]}}
    base["Settings"]["config"][0] = {"bitbucketAccessToken": "********"}
    assert observed_from_record(base).auth_type is AuthType.ACCESS_TOKEN
    base["Settings"]["config"][0] = {"bitbucketEmail": "a@b.io", "bitbucketCreds": "********"}
    assert observed_from_record(base).auth_type is AuthType.API_TOKEN
    base["Settings"]["config"][0] = {"bitbucketCreds": "********"}
    assert observed_from_record(base).auth_type is AuthType.APP_PASSWORD


# --------------------------------------------------------------------------- issue 11: odd records
def _record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {"Id": "odd", "ResourceName": "odd", "Settings": {"kind": "BITBUCKET_ORG", "config": [
        {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "********", "bitbucketEmail": "a@b.io"}]}}
    record.update(overrides)
    return record


@pytest.mark.parametrize(("overrides", "what"), [
    ({"Authentication": {"authenticatedAt": 1e20}}, "Authentication.authenticatedAt is 1e+20"),
    ({"Authentication": {"authenticatedAt": -1e18}}, "Authentication.authenticatedAt is -1e+18"),
    ({"Authentication": {"authenticatedAt": float("nan")}}, "Authentication.authenticatedAt is nan"),
    ({"ModifiedAt": "yesterday"}, "ModifiedAt is a string"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": {"bitbucketAuthType": "API_TOKEN"}}},
     "Settings.config is a mapping, not a list"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": ["x"]}}, "Settings.config[0] is a string, not a mapping"),
    ({"Settings": "BITBUCKET_ORG"}, "Settings is a string, not a mapping"),
    ({"Tags": "platform"}, "Tags is a string, not a list"),
    ({"Tags": [{"k": "v"}]}, "Tags[0] is a mapping, not a string"),
    ({"ContextTags": ["a"]}, "ContextTags is a list, not a mapping"),
    ({"Authentication": True}, "Authentication is a boolean, not a mapping"),
    ({"Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketEmail": ["SECRET-ish"]}]}},
     "Settings.config[0].bitbucketEmail is a list, not a string"),
])
def test_odd_records_raise_one_typed_error_naming_the_connector_and_the_field(
    overrides: dict[str, object], what: str
) -> None:
    from sg_bitbucket_iac.errors import OddRecordError, SGBitbucketError

    with pytest.raises(OddRecordError) as caught:
        observed_from_record(_record(**overrides))
    assert isinstance(caught.value, SGBitbucketError)
    assert caught.value.connector_id == "odd" and what in str(caught.value)
    assert "SECRET-ish" not in str(caught.value)


def test_a_record_that_is_not_a_mapping_is_odd_too() -> None:
    from sg_bitbucket_iac.errors import OddRecordError

    with pytest.raises(OddRecordError, match="the record is a list"):
        observed_from_record(["x"])  # type: ignore[arg-type]
    assert observed_from_record(_record(Authentication={"authenticatedAt": 1_700_000_000_000})).authenticated_at


def test_any_record_parses_or_raises_the_typed_per_record_error() -> None:
    """Property: whatever JSON a server returns, parsing gives a connector or OddRecordError, nothing else."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sg_bitbucket_iac.errors import OddRecordError

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10)
    keys = st.sampled_from(["Id", "ResourceName", "Description", "Tags", "ContextTags", "Settings", "Authentication",
                            "CreatedAt", "ModifiedAt"])
    settings_blocks = st.fixed_dictionaries({}, optional={"kind": json_values, "config": json_values | st.lists(
        st.dictionaries(st.sampled_from(["bitbucketAuthType", "bitbucketCreds", "bitbucketEmail",
                                         "bitbucketAccessToken"]), json_values), max_size=2)})
    records = st.dictionaries(keys, json_values, max_size=9).flatmap(
        lambda r: st.just(r) | settings_blocks.map(lambda s: {**r, "Settings": s}))

    @settings(max_examples=150, deadline=None, database=None)
    @given(record=records | json_values)
    def parse(record: Any) -> None:
        try:
            observed = observed_from_record(record)
        except OddRecordError as error:
            assert error.problems and str(error)
            return
        assert isinstance(observed.id, str) and isinstance(observed.tags, tuple)

    parse()


# --------------------------------------------------------------------------- payloads and comparisons
def test_a_patch_clears_every_key_of_the_other_auth_types() -> None:
    access = parse_connector(with_auth(type="access_token", access_token=SENTINEL, repository="infra"))
    config = _wire(patch_settings_payload(access.auth))["config"][0]
    assert config == {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": SENTINEL,
                      "bitbucketCreds": None, "bitbucketEmail": None}
    assert set(CREDENTIAL_KEYS) == {"bitbucketCreds", "bitbucketEmail", "bitbucketAccessToken"}
    assert {c.wire_secret_key for c in AUTH_CLASSES} == WIRE_SECRET_KEYS


def test_an_update_sends_the_credential_set_only_when_asked() -> None:
    api = parse_connector(api_token_connector(description="d"))
    without = to_update_payload(api, {"k": "v"}, send_credentials=False)
    assert without == {"ResourceName": "bitbucket-main", "Description": "d", "Tags": [], "ContextTags": {"k": "v"}}
    with_credentials = to_update_payload(api, {}, send_credentials=True)
    assert _wire(with_credentials)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{SENTINEL}"


def test_a_stored_connector_is_ours_when_every_sent_field_and_tag_matches() -> None:
    api = parse_connector(api_token_connector())
    sent = to_create_payload(api, {OWNER_TAG: "cli", LAST_WRITE_TAG: "1"})
    stored = json.loads(json.dumps(sent, default=wire_json_default))
    stored["Settings"]["config"][0]["bitbucketCreds"] = "********"
    stored["ContextTags"][LAST_WRITE_TAG] = "2"  # when, not what
    assert create_differences(stored, sent) == []
    stored["ContextTags"][OWNER_TAG] = "pulumi"
    stored["Settings"]["config"][0]["bitbucketEmail"] = "bob@acme.io"
    assert create_differences(stored, sent) == ["ContextTags", "Settings.config[0].bitbucketEmail"]


def test_a_patch_answer_counts_only_when_it_shows_the_write() -> None:
    api = parse_connector(api_token_connector())
    patch = to_update_payload(api, {}, send_credentials=True)
    answer = json.loads(json.dumps({**patch, "ModifiedAt": 2_000}, default=wire_json_default))
    answer["Settings"]["config"][0].update(bitbucketCreds="********", bitbucketAccessToken=None)
    since = datetime.fromtimestamp(1, tz=UTC)
    assert answer_shows_write(answer, patch, since)
    assert not answer_shows_write({**answer, "ModifiedAt": 1_000}, patch, since)  # not later than before
    assert not answer_shows_write({**answer, "ResourceName": "stale"}, patch, None)


def test_list_items_are_flat_or_wrapped_and_kinds_are_read_safely() -> None:
    record = {"Id": "x", "Settings": {"kind": "BITBUCKET_ORG"}}
    assert unwrap_list_item({"msg": record}) == record and unwrap_list_item(record) == record
    assert unwrap_list_item("junk") == {}
    assert record_kind(record) == "BITBUCKET_ORG" and record_kind({"Settings": "x"}) is None


def test_what_stackguardian_shows_of_a_credential_includes_our_tags() -> None:
    record = {"Id": "x", "ResourceName": "x", "ContextTags": {USERNAME_TAG: "alice"},
              "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "API_TOKEN",
                                                                "bitbucketCreds": "********",
                                                                "bitbucketEmail": "a@acme.io"}]}}
    observed = observed_from_record(record)
    assert observed.username is None  # masked by StackGuardian...
    assert observed.shown_credential() == {"username": "alice", "email": "a@acme.io"}  # ...but tagged by us
    assert observed.owner is None and not observed.managed
    assert observed_from_record({**record, "ContextTags": {OWNER_TAG: "cli"}}).owner is Front.CLI
