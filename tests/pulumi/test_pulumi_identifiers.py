"""The Pulumi provider's functions through loopback recorders: hostile identifiers from inputs, state
(the resource id and its org) and the server's records, and hostile base URLs, never reach a request
outside the API's prefix or a host that is not loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from loopback_recorder import Recorders, hostile_record, network_guard, recorders  # noqa: F401 - fixtures
from pulumi_helpers import api_props, configured

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

HOSTILE_IDS = ["..", ".", "listall", "a/../..", "%2e%2e", "x\\y", "a b", "\x1b[2J", "x" * 200]


@pytest.fixture
def guarded(emulator: Emulator, tokens: dict[str, str], recorders: Recorders,  # noqa: F811
            network_guard: list[str]) -> Iterator[BitbucketConnectorProvider]:  # noqa: F811
    """A provider on the recorders; every test ends with every request inside the prefixes, on loopback."""
    yield configured(emulator, apiUrl=recorders.stackguardian_url, bitbucketApiUrl=recorders.bitbucket_url)
    recorders.assert_inside()
    assert network_guard == [], f"lookups of hosts that are not loopback: {network_guard}"


def _created(provider: BitbucketConnectorProvider, token: str) -> tuple[str, dict[str, Any]]:
    result = provider.create(api_props(token))
    return str(result.id), dict(result.outs or {})


def test_a_whole_create_stays_inside_both_prefixes(guarded: BitbucketConnectorProvider, recorders: Recorders,  # noqa: F811
                                                   tokens: dict[str, str]) -> None:
    assert guarded.check({}, api_props(tokens["api"])).failures == []
    assert _created(guarded, tokens["api"])[0] == "bitbucket_main"
    assert "POST" in recorders.stackguardian.methods() and recorders.bitbucket.lines


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_connector_id_input_fails_check_and_create_before_any_request(
        guarded: BitbucketConnectorProvider, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    failures = guarded.check({}, api_props(tokens["api"], connector_id=hostile)).failures
    assert [f.property for f in failures] == ["connector_id"]
    with pytest.raises(BitbucketConnectorError, match="connector_id"):
        guarded.create(api_props(tokens["api"], connector_id=hostile))
    assert recorders.requests() == 0


@pytest.mark.parametrize(("key", "value"), [("workspace", ".."), ("workspace", "a/b")])
def test_a_hostile_workspace_input_fails_check(guarded: BitbucketConnectorProvider, recorders: Recorders,  # noqa: F811
                                               tokens: dict[str, str], key: str, value: str) -> None:
    failures = guarded.check({}, api_props(tokens["api"], **{key: value})).failures
    assert [f.property for f in failures] == [key]
    assert recorders.requests() == 0


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_resource_id_in_state_is_refused_before_any_request(
        guarded: BitbucketConnectorProvider, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    props = {**api_props(tokens["api"]), "org": "acme", "connector_id": hostile}
    for call in (lambda: guarded.read(hostile, props), lambda: guarded.delete(hostile, props),
                 lambda: guarded.update(hostile, props, api_props(tokens["api"]))):
        with pytest.raises(BitbucketConnectorError) as caught:
            call()
        assert "\x1b" not in str(caught.value) and len(str(caught.value)) < 1000
    assert recorders.requests() == 0


@pytest.mark.parametrize("org", ["..", ".", "acme/../other", "%2e%2e", "a\\b"])
def test_a_hostile_org_in_state_is_refused_before_any_request(guarded: BitbucketConnectorProvider,
                                                              recorders: Recorders, tokens: dict[str, str],  # noqa: F811
                                                              org: str) -> None:
    props = {**api_props(tokens["api"]), "org": org, "connector_id": "bitbucket_main"}
    for call in (lambda: guarded.read("bitbucket_main", props), lambda: guarded.delete("bitbucket_main", props)):
        with pytest.raises(BitbucketConnectorError, match="org"):
            call()
    assert recorders.requests() == 0


def test_a_server_record_under_a_hostile_id_is_never_read_into_state_or_written(
        guarded: BitbucketConnectorProvider, recorders: Recorders, tokens: dict[str, str]) -> None:  # noqa: F811
    id_, outs = _created(guarded, tokens["api"])
    recorders.stackguardian.answer(
        "GET", rf"/integrations/{id_}/$", lambda body: (200, {"msg": hostile_record(body["msg"], "..")}))
    recorders.stackguardian.lines.clear()
    with pytest.raises(BitbucketConnectorError, match="unreadable record"):
        guarded.read(id_, outs)
    with pytest.raises(BitbucketConnectorError, match="unreadable record"):
        guarded.update(id_, outs, api_props(tokens["api2"]))
    assert set(recorders.stackguardian.methods()) == {"GET"}


@pytest.mark.parametrize(("key", "template"), [
    ("apiUrl", "http://evil.example\\@{host}"), ("apiUrl", "http://user:pass@{host}"), ("apiUrl", "http://{host}#x"),
    ("bitbucketApiUrl", "http://{host}\\@evil.example/2.0"), ("org", ".."),
])
def test_a_hostile_stack_setting_is_refused_before_any_request(emulator: Emulator, tokens: dict[str, str],
                                                               recorders: Recorders,  # noqa: F811
                                                               network_guard: list[str],  # noqa: F811
                                                               key: str, template: str) -> None:
    host = recorders.stackguardian_url.removeprefix("http://")
    provider = configured(emulator, **{"apiUrl": recorders.stackguardian_url,
                                       "bitbucketApiUrl": recorders.bitbucket_url, key: template.format(host=host)})
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.create(api_props(tokens["api"]))
    assert "user:pass@" not in str(caught.value)
    assert recorders.requests() == 0 and network_guard == []
