"""Pulumi wire properties <-> the backend's flat values: names, secrets, unknowns."""

from __future__ import annotations

from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict
from native_driver import SECRET, UNKNOWN, is_secret
from pulumi.runtime import rpc

from sg_bitbucket_iac.pulumi.native import backend, properties
from sg_bitbucket_iac.pulumi.properties import OUTPUT_KEYS


def wire(values: dict[str, object]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


def test_secrets_are_unwrapped_and_remembered_unknowns_marked_strangers_kept() -> None:
    found = properties.to_flat(wire({
        "apiToken": {**SECRET, "value": "t0ken"},
        "description": {**SECRET, "value": "made secret by the program"},
        "accessTokenScope": UNKNOWN,
        "tags": ["a", UNKNOWN],
        "name": {rpc._special_sig_key: rpc._special_output_value_sig, "dependencies": []},  # an unknown output
        "email": {rpc._special_sig_key: rpc._special_output_value_sig, "value": "a@b.io", "secret": True},
        "emial": "typo",
    }))
    assert found.values["api_token"] == "t0ken" and found.values["email"] == "a@b.io"
    assert found.values["access_token_scope"] is backend.UNKNOWN and found.values["name"] is backend.UNKNOWN
    assert backend.is_unknown(found.values["tags"])
    assert found.secret == {"api_token", "description", "email"}
    assert found.strangers == ["emial"]


def test_outputs_mark_every_secret_key_and_what_arrived_secret() -> None:
    values = {"api_token": "t0ken", "credentials_fingerprint": "hmac1:x", "description": "d", "name": "n",
              "app_password": None, "modified_at": backend.UNKNOWN}
    out = MessageToDict(properties.from_flat(values, OUTPUT_KEYS,
                                             secret_keys={*backend.SECRET_OUTPUT_KEYS, "description"}))
    assert is_secret(out["apiToken"]) and is_secret(out["credentialsFingerprint"]) and is_secret(out["description"])
    assert out["name"] == "n" and out["appPassword"] is None and out["modifiedAt"] == UNKNOWN


def test_config_prefers_typed_args_over_variables() -> None:
    config = properties.config_values(wire({"apiKey": {**SECRET, "value": "k"}, "preflight": False}),
                                      {"sgbitbucket:config:org": "acme", "sgbitbucket:config:preflight": "true"})
    assert config == {"apiKey": "k", "preflight": False, "org": "acme"}


def test_property_names_are_camel_case_of_the_flat_keys() -> None:
    assert properties.KEY_OF_PROPERTY["accessTokenScope"] == "access_token_scope"
    assert properties.KEY_OF_PROPERTY["connectorId"] == "connector_id"
    assert backend.camel("credentials_fingerprint") == "credentialsFingerprint"
