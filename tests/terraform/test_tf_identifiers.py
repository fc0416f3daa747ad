"""The Terraform provider's functions through loopback recorders: hostile identifiers from the
configuration, the state, an import Id and the server's records, and hostile base URLs, never reach a
request outside the API's prefix or a host that is not loopback; a bad state Id is an error, never a drop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from loopback_recorder import Recorders, hostile_record, network_guard, recorders  # noqa: F401 - fixtures
from tf.utils import Diagnostics
from tf_helpers import TerraformSim, access_token_config, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

HOSTILE_IDS = ["..", ".", "listall", "a/../..", "%2e%2e", "x\\y", "a b", "\x1b[2J", "x" * 200]


@pytest.fixture
def guarded(workspace: Emulator, recorders: Recorders, network_guard: list[str]) -> Iterator[TerraformSim]:  # noqa: F811
    """A provider on the recorders; every test ends with every request inside the prefixes, on loopback."""
    provider = configured_provider(workspace, api_uri=recorders.stackguardian_url,
                                   bitbucket_api_url=recorders.bitbucket_url)
    yield TerraformSim(ConnectorResource(provider))
    assert provider.engine is not None
    provider.engine.client.close()
    recorders.assert_inside()
    assert network_guard == [], f"lookups of hosts that are not loopback: {network_guard}"


def test_a_whole_create_stays_inside_both_prefixes(guarded: TerraformSim, recorders: Recorders,  # noqa: F811
                                                   tokens: dict[str, str]) -> None:
    state = guarded.plan_and_apply(None, api_token_config(tokens["api"], preflight=True))
    assert state["id"] == "bitbucket_main"
    assert "POST" in recorders.stackguardian.methods() and recorders.bitbucket.lines


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_connector_id_in_the_configuration_fails_validate_at_its_attribute(
        guarded: TerraformSim, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    diags = guarded.validate(api_token_config(tokens["api"], connector_id=hostile))
    assert diags.has_errors() and "connector_id" in str(diags)
    _planned, diags, _ = guarded.plan(None, api_token_config(tokens["api"], connector_id=hostile))
    assert diags.has_errors()
    assert recorders.requests() == 0


@pytest.mark.parametrize(("attribute", "value"), [("workspace", ".."), ("repository", ".."), ("repository", "a/b")])
def test_a_hostile_slug_in_the_configuration_fails_validate(guarded: TerraformSim, recorders: Recorders,  # noqa: F811
                                                           tokens: dict[str, str], attribute: str, value: str) -> None:
    diags = guarded.validate(access_token_config(tokens["access"], **{attribute: value}))
    assert diags.has_errors() and attribute in str(diags)
    assert recorders.requests() == 0


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_id_in_state_is_an_error_never_a_request_or_a_state_drop(
        guarded: TerraformSim, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    state = {**api_token_config(tokens["api"]), "id": hostile, "connector_id": hostile}
    refreshed, diags = guarded.read(state)
    assert diags.has_errors() and "Invalid connector Id in state" in str(diags)
    assert refreshed == state  # kept in state: a failed read is an error, never "deleted outside"
    assert guarded.delete(state).has_errors()
    assert recorders.requests() == 0


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_import_id_is_refused_before_any_request(guarded: TerraformSim, recorders: Recorders,  # noqa: F811
                                                           hostile: str) -> None:
    imported, diags = guarded.import_(hostile)
    assert imported is None and "Invalid import Id" in str(diags)
    assert "\x1b" not in str(diags)
    assert recorders.requests() == 0


@pytest.mark.parametrize("answered", ["..", "other"])  # a hostile Id, or another connector than the one asked for
def test_a_server_record_under_a_hostile_id_is_never_imported_or_taken_over(
        guarded: TerraformSim, recorders: Recorders, tokens: dict[str, str], answered: str) -> None:  # noqa: F811
    state = guarded.plan_and_apply(None, api_token_config(tokens["api"]))
    recorders.stackguardian.answer(
        "GET", r"/integrations/bitbucket_main/$",
        lambda body: (200, {"msg": hostile_record(body["msg"], answered)}))
    recorders.stackguardian.lines.clear()
    imported, diags = guarded.import_("bitbucket_main")
    assert imported is None and "unreadable record" in str(diags)
    refreshed, diags = guarded.read(state)
    assert diags.has_errors() and refreshed == state  # an error diagnostic; the resource stays in state
    assert set(recorders.stackguardian.methods()) == {"GET"}  # nothing written: no ownership move, no PATCH


@pytest.mark.parametrize(("attribute", "value"), [
    ("org_name", ".."), ("org_name", "acme/../x"), ("api_uri", "http://evil.example\\@{host}"),
    ("api_uri", "http://user:pass@{host}"), ("bitbucket_api_url", "http://{host}\\@evil.example/2.0"),
    ("bitbucket_api_url", "https://{host}/2.0?x=1"),
])
def test_a_hostile_provider_setting_is_refused_at_its_attribute(workspace: Emulator, recorders: Recorders,  # noqa: F811
                                                                network_guard: list[str],  # noqa: F811
                                                                attribute: str, value: str) -> None:
    host = recorders.stackguardian_url.removeprefix("http://")
    config = {"api_key": "sgo_test_key", "org_name": "acme", "api_uri": recorders.stackguardian_url,
              "bitbucket_api_url": recorders.bitbucket_url, "preflight": False, attribute: value.format(host=host)}
    provider = SGBitbucketProvider(environ={})
    diags = Diagnostics()
    provider.validate_config(diags, config)
    assert diags.has_errors() and attribute in str(diags) and "user:pass@" not in str(diags)
    diags = Diagnostics()
    provider.configure_provider(diags, config)
    assert diags.has_errors() and provider.engine is None
    assert recorders.requests() == 0 and network_guard == []


def test_hostile_records_in_a_shared_listall_scan_are_never_read_as_state(
        workspace: Emulator, recorders: Recorders, tokens: dict[str, str],  # noqa: F811
        network_guard: list[str]) -> None:  # noqa: F811
    """A refresh served from the batched listall scan: the hostile copies in the page are never a connector."""
    writer = TerraformSim(ConnectorResource(configured_provider(
        workspace, api_uri=recorders.stackguardian_url, bitbucket_api_url=recorders.bitbucket_url)))
    state = writer.plan_and_apply(None, api_token_config(tokens["api"]))

    def with_copies(body: Any) -> tuple[int, Any]:
        items = list(body.get("msg") or [])
        return 200, {**body, "msg": items + [hostile_record(items[0], hostile) for hostile in HOSTILE_IDS]}

    recorders.stackguardian.answer("GET", r"/integrations/listall/", with_copies)
    recorders.stackguardian.lines.clear()
    reader = TerraformSim(ConnectorResource(configured_provider(  # a new process: its reads share one scan
        workspace, api_uri=recorders.stackguardian_url, bitbucket_api_url=recorders.bitbucket_url)))
    refreshed, diags = reader.read(state)
    assert not diags.has_errors() and refreshed is not None and refreshed["id"] == "bitbucket_main"
    assert [line.method for line in recorders.stackguardian.lines] == ["GET"]
    assert "/listall/" in recorders.stackguardian.lines[0].target
    recorders.assert_inside()
    assert network_guard == []
    for sim in (writer, reader):
        assert sim.resource.provider.engine is not None
        sim.resource.provider.engine.client.close()
