"""Unknown values of every kind, through the servicer as Terraform sends them (tfplugin6, msgpack).

The two payloads are `ValidateResourceConfig` configs captured from Terraform 1.11.4
(docs/evidence.md#terraform-refined-unknowns): refined unknowns (extension type 12) in `name`,
`description`, `access_token` and inside the `tags` list, and a plain unknown secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.provider import ProviderServicer
from tf.types import Unknown
from tf.utils import read_dynamic_value
from tf_helpers import TYPE, TerraformSim, access_token_config, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform import unknowns
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider
from sg_bitbucket_iac.terraform.servicer import SGBitbucketServicer

# count = 2, name = "static-name-${count.index}", api_token = var.tok (sensitive, unknown in validate)
CAPTURED_COUNT_INDEX = (
    "3gATrGFjY2Vzc190b2tlbsCyYWNjZXNzX3Rva2VuX3Njb3BlwKlhcGlfdG9rZW7UAACsYXBwX3Bhc3N3b3JkwKlhdXRoX3R5cGWpYXBpX3Rva2Vu"
    "rWF1dGhlbnRpY2F0ZWTArGNvbm5lY3Rvcl9pZMC3Y3JlZGVudGlhbHNfZmluZ2VycHJpbnTAq2Rlc2NyaXB0aW9uwKVlbWFpbK1hbGljZUBhY21l"
    "LmlvomlkwKttb2RpZmllZF9hdMCkbmFtZccRDIIBwgKsc3RhdGljLW5hbWUtqXByZWZsaWdodMCncHJvamVjdMCqcmVwb3NpdG9yecCkdGFnc8Co"
    "dXNlcm5hbWWlYWxpY2Wpd29ya3NwYWNlpGFjbWU="
)
# description = "after ${terraform_data.x.id}", tags = ["t-${terraform_data.x.id}", "plain"],
# access_token = "tok-${terraform_data.x.id}"
CAPTURED_OTHER_RESOURCE = (
    "3gATrGFjY2Vzc190b2tlbscJDIIBwgKkdG9rLbJhY2Nlc3NfdG9rZW5fc2NvcGWpd29ya3NwYWNlqWFwaV90b2tlbsCsYXBwX3Bhc3N3b3JkwKlh"
    "dXRoX3R5cGWsYWNjZXNzX3Rva2VurWF1dGhlbnRpY2F0ZWTArGNvbm5lY3Rvcl9pZMC3Y3JlZGVudGlhbHNfZmluZ2VycHJpbnTAq2Rlc2NyaXB0"
    "aW9uxwsMggHCAqZhZnRlciClZW1haWzAomlkwKttb2RpZmllZF9hdMCkbmFtZahmcm9tLXJlc6lwcmVmbGlnaHTAp3Byb2plY3TAqnJlcG9zaXRv"
    "cnnApHRhZ3OSxwcMggHCAqJ0LaVwbGFpbqh1c2VybmFtZcCpd29ya3NwYWNlpGFjbWU="
)


def captured(text: str) -> bytes:
    return base64.b64decode(text)


def refined(prefix: str) -> msgpack.ExtType:
    """cty's refined unknown: not null, with a known string prefix (what `"${prefix}${x.id}"` plans to)."""
    return msgpack.ExtType(unknowns.REFINED_UNKNOWN_TYPE, msgpack.packb({1: False, 2: prefix}))


# A refined unknown that only says "not null" (how Terraform >= 1.6 plans a computed attribute it refined).
NOT_NULL = msgpack.ExtType(12, msgpack.packb({1: False}))


def dynamic(values: dict[str, Any] | None) -> pb.DynamicValue:
    """Encode like Terraform: tf's Unknown as cty's plain unknown, ExtType values as they are."""
    if values is None:
        return pb.DynamicValue()
    return pb.DynamicValue(msgpack=msgpack.packb(values, default=unknowns._as_plain_unknown))


def validate(servicer: ProviderServicer, payload: bytes) -> list[Any]:
    request = pb.ValidateResourceConfig.Request(type_name=TYPE, config=pb.DynamicValue(msgpack=payload))
    return list(servicer.ValidateResourceConfig(request, None).diagnostics)


def plan(servicer: ProviderServicer, prior: dict[str, Any] | None, proposed: dict[str, Any],
         config: dict[str, Any] | None = None) -> pb.PlanResourceChange.Response:
    request = pb.PlanResourceChange.Request(type_name=TYPE, prior_state=dynamic(prior),
                                            proposed_new_state=dynamic(proposed), config=dynamic(config or proposed))
    return servicer.PlanResourceChange(request, None)


def apply(servicer: ProviderServicer, prior: dict[str, Any] | None, planned: pb.DynamicValue,
          config: dict[str, Any]) -> pb.ApplyResourceChange.Response:
    request = pb.ApplyResourceChange.Request(type_name=TYPE, prior_state=dynamic(prior), planned_state=planned,
                                             config=dynamic(config))
    return servicer.ApplyResourceChange(request, None)


def errors(diagnostics: Any) -> list[str]:
    return [f"{d.summary}: {d.detail}" for d in diagnostics if d.severity == pb.Diagnostic.ERROR]


def bitbucket_requests(emulator: Emulator) -> int:
    return int(emulator.admin("GET", "/stats")["bitbucket"]["total"])


# --------------------------------------------------------------------------- decoding
def test_the_captured_payloads_decode_as_the_reference_says() -> None:
    first = msgpack.unpackb(captured(CAPTURED_COUNT_INDEX), raw=False, strict_map_key=False)
    assert first["name"] == msgpack.ExtType(12, b"\x82\x01\xc2\x02\xacstatic-name-")
    assert first["api_token"] == msgpack.ExtType(0, b"\x00")
    second = msgpack.unpackb(captured(CAPTURED_OTHER_RESOURCE), raw=False, strict_map_key=False)
    assert second["description"].code == second["access_token"].code == 12
    assert second["tags"][0].code == 12 and second["tags"][1] == "plain"
    # What the refinement says (the adapter drops it; the protocol allows that).
    assert msgpack.unpackb(second["access_token"].data, strict_map_key=False) == {1: False, 2: "tok-"}


def test_every_extension_decodes_as_unknown_at_any_depth() -> None:
    first = unknowns.decode(captured(CAPTURED_COUNT_INDEX))
    assert first["name"] is Unknown and first["api_token"] is Unknown
    assert first["email"] == "alice@acme.io" and first["description"] is None
    second = unknowns.decode(captured(CAPTURED_OTHER_RESOURCE))
    assert second["description"] is Unknown and second["access_token"] is Unknown
    assert second["tags"] == [Unknown, "plain"] and second["name"] == "from-res"
    # Other extension types, zero-length bodies, a set of objects, a map: all unknown, all read.
    odd = {"a": msgpack.ExtType(0, b""), "b": msgpack.ExtType(7, b"\x01\x02"),
           "c": [{"x": refined("p")}], "d": {"k": refined("")}}
    assert unknowns.decode(msgpack.packb(odd)) == {"a": Unknown, "b": Unknown, "c": [{"x": Unknown}],
                                                  "d": {"k": Unknown}}


def test_normalized_values_are_what_tf_itself_reads_as_unknown() -> None:
    value = unknowns.normalized(pb.DynamicValue(msgpack=captured(CAPTURED_OTHER_RESOURCE)))
    decoded = read_dynamic_value(value)
    assert decoded["tags"] == [Unknown, "plain"] and decoded["access_token"] is Unknown
    assert decoded == unknowns.decode(captured(CAPTURED_OTHER_RESOURCE))
    # JSON and empty values pass through untouched.
    as_json = pb.DynamicValue(json=b'{"a": 1}')
    assert unknowns.normalized(as_json) is as_json
    assert unknowns.normalized(pb.DynamicValue()).msgpack == b""


def test_the_adapter_covers_every_request_field_that_can_hold_unknowns() -> None:
    for rpc, fields in unknowns.DYNAMIC_FIELDS.items():
        request_type = getattr(pb, rpc).Request
        for name in fields:
            assert request_type.DESCRIPTOR.fields_by_name[name].message_type.name == "DynamicValue", (rpc, name)
        assert rpc in SGBitbucketServicer.__dict__, f"{rpc} is not routed through the adapter"
    assert set(unknowns.DYNAMIC_FIELDS["PlanResourceChange"]) == {"config", "prior_state", "proposed_new_state"}
    assert set(unknowns.DYNAMIC_FIELDS["ApplyResourceChange"]) == {"config", "prior_state", "planned_state"}


# --------------------------------------------------------------------------- validate
def test_tf_alone_still_rejects_refined_unknowns() -> None:
    """Pins why the adapter exists: when this fails, tf decodes refinements and unknowns.py can go."""
    bare = ProviderServicer(SGBitbucketProvider(environ={}))
    assert any("must be a string" in e or "Invalid name" in e
               for e in errors(validate(bare, captured(CAPTURED_COUNT_INDEX))))


@pytest.mark.parametrize("payload", [CAPTURED_COUNT_INDEX, CAPTURED_OTHER_RESOURCE], ids=["count-index", "other-res"])
def test_captured_configs_validate_clean(payload: str) -> None:
    servicer = SGBitbucketServicer(SGBitbucketProvider(environ={}))
    assert validate(servicer, captured(payload)) == []


def test_validation_of_an_unknown_field_waits_but_known_mistakes_are_still_reported() -> None:
    servicer = SGBitbucketServicer(SGBitbucketProvider(environ={}))
    # Unknown email / workspace of an api_token connector: nothing to say yet.
    pending = api_token_config(refined("tok-"), email=refined("a@"), workspace=refined("ac"), name=refined("n-"))
    assert validate(servicer, dynamic(pending).msgpack) == []
    # A field of another auth type is wrong whatever the unknowns resolve to.
    wrong = access_token_config(refined("tok-"), username="alice", name=refined("n-"), tags=[refined("t-")])
    (diagnostic,) = validate(servicer, dynamic(wrong).msgpack)
    assert diagnostic.attribute.steps[0].attribute_name == "username"


# --------------------------------------------------------------------------- plan and apply
@pytest.fixture
def checked_provider(workspace: Emulator) -> Iterator[SGBitbucketProvider]:
    """A configured provider that runs preflight (the shared fixture turns it off)."""
    provider = configured_provider(workspace, preflight=True)
    yield provider
    assert provider.engine is not None
    provider.engine.client.close()


def test_create_with_an_unknown_secret_plans_without_preflight_and_applies_with_it(
        checked_provider: SGBitbucketProvider, workspace: Emulator, tokens: dict[str, str]) -> None:
    servicer = SGBitbucketServicer(checked_provider)
    # Only the secret is unknown: everything derived from known values is planned already.
    response = plan(servicer, None, access_token_config(refined("SENTINEL-")))
    assert errors(response.diagnostics) == []
    planned = read_dynamic_value(response.planned_state)
    assert planned["id"] == planned["connector_id"] == "bitbucket_main"
    assert planned["access_token_scope"] == "repository"
    assert planned["access_token"] is Unknown and planned["credentials_fingerprint"] is Unknown
    # Name, description and a tag unknown too (another resource's attributes): the Id waits as well.
    proposed = access_token_config(refined("SENTINEL-"), name=refined("bitbucket-"), description=refined("after "),
                                   tags=[refined("t-"), "plain"])
    response = plan(servicer, None, proposed)
    assert errors(response.diagnostics) == []
    planned = read_dynamic_value(response.planned_state)
    assert planned["id"] is Unknown and planned["connector_id"] is Unknown
    assert planned["access_token_scope"] is Unknown and planned["credentials_fingerprint"] is Unknown
    assert planned["tags"] == [Unknown, "plain"] and planned["description"] is Unknown
    assert bitbucket_requests(workspace) == 0  # the credential is not known yet: no preflight
    # Apply: Terraform sends the values now known (and its planned unknowns back, refined or not).
    known = access_token_config(tokens["access"], description="after x", tags=["t-x", "plain"])
    planned_for_apply = {k: known[k] if known.get(k) is not None else NOT_NULL if v is Unknown else v
                         for k, v in planned.items()}
    result = apply(servicer, None, dynamic(planned_for_apply), known)
    assert errors(result.diagnostics) == []
    state = read_dynamic_value(result.new_state)
    assert state["authenticated"] is True and state["credentials_fingerprint"].startswith("scrypt1:")
    assert bitbucket_requests(workspace) > 0  # preflight ran once the credential was known
    stored = workspace.admin("GET", "/stackguardian/orgs/acme/integrations/bitbucket_main")
    assert stored["Description"] == "after x" and stored["Tags"] == ["t-x", "plain"]


def test_a_known_credential_is_preflighted_at_plan_though_other_values_are_unknown(
        checked_provider: SGBitbucketProvider, workspace: Emulator, tokens: dict[str, str]) -> None:
    servicer = SGBitbucketServicer(checked_provider)
    # `name = "n-${count.index}"`, `description = "after ${x.id}"`: the credential is known, so it is checked.
    proposed = access_token_config(tokens["access"] + "-unknown-to-bitbucket", name=refined("n-"),
                                   description=refined("after "), tags=[refined("t-")])
    failed = errors(plan(servicer, None, proposed).diagnostics)
    assert len(failed) == 1 and failed[0].startswith("Credential preflight failed")
    assert tokens["access"] not in failed[0]
    asked = bitbucket_requests(workspace)
    proposed["access_token"] = tokens["access"]
    response = plan(servicer, None, proposed)
    assert errors(response.diagnostics) == [] and bitbucket_requests(workspace) > asked
    assert read_dynamic_value(response.planned_state)["connector_id"] is Unknown  # the Id waits for the name
    # The workspace unknown: nothing to check against yet, the preflight waits for apply.
    asked = bitbucket_requests(workspace)
    assert errors(plan(servicer, None, {**proposed, "workspace": refined("ac")}).diagnostics) == []
    assert bitbucket_requests(workspace) == asked


def test_update_with_refined_unknowns_in_proposed_state_and_config(provider: SGBitbucketProvider,
                                                                  tokens: dict[str, str]) -> None:
    sim = TerraformSim(ConnectorResource(provider))
    prior = sim.plan_and_apply(None, api_token_config(tokens["api"], tags=["a"]))
    servicer = SGBitbucketServicer(provider)
    config = api_token_config(refined("SENTINEL-"), tags=["a", refined("t-")], description=refined("after "))
    proposed = {**config, **{k: prior[k] for k in ("id", "connector_id", "access_token_scope", "authenticated",
                                                   "modified_at", "credentials_fingerprint")}}
    response = plan(servicer, prior, proposed, config)
    assert errors(response.diagnostics) == []
    planned = read_dynamic_value(response.planned_state)
    assert planned["id"] == "bitbucket_main" and planned["api_token"] is Unknown
    assert planned["tags"] == ["a", Unknown] and planned["modified_at"] is Unknown
    assert planned["credentials_fingerprint"] is Unknown
    # The prior state, normalised too, can come back with an unknown (a state upgrade never makes
    # one, but the adapter has a single rule): still a clean update plan.
    prior_with_unknown = {**prior, "modified_at": refined("2026")}
    assert errors(plan(servicer, prior_with_unknown, proposed, config).diagnostics) == []


def test_provider_config_with_a_refined_unknown_defers_backend_checks() -> None:
    """`api_uri = "https://${aws_lb.x.dns_name}"`: unknown until apply; the provider waits for it."""
    provider = SGBitbucketProvider(environ={})
    servicer = SGBitbucketServicer(provider)
    config = {"api_key": "sgo_key", "org_name": "acme", "api_uri": refined("https://"),
              "bitbucket_api_url": None, "preflight": None}
    validated = servicer.ValidateProviderConfig(pb.ValidateProviderConfig.Request(config=dynamic(config)), None)
    assert errors(validated.diagnostics) == []
    configured = servicer.ConfigureProvider(pb.ConfigureProvider.Request(config=dynamic(config)), None)
    assert errors(configured.diagnostics) == []
    assert provider.configured_with_unknowns and provider.engine is None
