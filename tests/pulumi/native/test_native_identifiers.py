"""The native provider through loopback recorders (issue 21): hostile identifiers from inputs, state (the
resource id and its org), import Ids, getConnector arguments, stack settings and the server's records
never reach a request outside the API's prefix or a host that is not loopback; failed reads are errors,
never a drop from state; control characters are refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from loopback_recorder import Recorders, hostile_record, network_guard, recorders  # noqa: F401 - fixtures
from native_driver import Driver, plain, unwrap
from pulumi.runtime import proto

from sg_bitbucket_iac.emulator import Emulator

HOSTILE_IDS = ["..", ".", "listall", "a/../..", "%2e%2e", "x\\y", "a b", "\x1b[2J", "x" * 200]
GET_CONNECTOR = "sgbitbucket:index:getConnector"


def api(token: str, **extra: object) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "api_token", "username": "alice",
            "email": "alice@acme.io", "apiToken": token, **extra}


@pytest.fixture
def guarded(driver: Driver, emulator: Emulator, recorders: Recorders,  # noqa: F811
            network_guard: list[str]) -> Iterator[Driver]:  # noqa: F811
    """The plugin on the recorders; every test ends with every request inside the prefixes, on loopback."""
    driver.configure(emulator, apiUrl=recorders.stackguardian_url, bitbucketApiUrl=recorders.bitbucket_url)
    yield driver
    recorders.assert_inside()
    assert network_guard == [], f"lookups of hosts that are not loopback: {network_guard}"


def refused(call: Any) -> str:
    """The one-line error text of an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    details = str(caught.value.details())
    assert "\n" not in details and "\x1b" not in details and len(details) < 1000 and "Traceback" not in details
    return details


def test_a_whole_create_read_and_delete_stay_inside_both_prefixes(guarded: Driver, recorders: Recorders,  # noqa: F811
                                                                   tokens: dict[str, str]) -> None:
    assert not guarded.check(api(tokens["api"])).failures
    created = guarded.create(api(tokens["api"]))
    state = unwrap(plain(created.properties))
    assert guarded.read(created.id, state, api(tokens["api"])).id == "bitbucket_main"
    found = guarded.invoke(GET_CONNECTOR, {"connectorId": "bitbucket_main"})
    assert not found.failures
    guarded.delete(created.id, state)
    assert {"GET", "POST", "DELETE"} <= set(recorders.stackguardian.methods()) and recorders.bitbucket.lines


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_connector_id_input_fails_check_and_create_before_any_request(
        guarded: Driver, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    failures = guarded.check(api(tokens["api"], connectorId=hostile)).failures
    assert [f.property for f in failures] == ["connectorId"]
    assert "connectorId" in refused(lambda: guarded.create(api(tokens["api"], connectorId=hostile)))
    assert recorders.requests() == 0


@pytest.mark.parametrize("value", ["..", "a/b", "a%2fb"])
def test_a_hostile_workspace_input_fails_check(guarded: Driver, recorders: Recorders,  # noqa: F811
                                               tokens: dict[str, str], value: str) -> None:
    failures = guarded.check(api(tokens["api"], workspace=value)).failures
    assert [f.property for f in failures] == ["workspace"]
    assert recorders.requests() == 0


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_resource_id_in_state_or_an_import_id_is_refused_before_any_request(
        guarded: Driver, recorders: Recorders, tokens: dict[str, str], hostile: str) -> None:  # noqa: F811
    state = {**api(tokens["api"]), "org": "acme", "connectorId": hostile}
    for call in (lambda: guarded.read(hostile, state, api(tokens["api"])),  # refresh
                 lambda: guarded.read(hostile),  # `pulumi import sgbitbucket:index:Connector NAME <hostile>`
                 lambda: guarded.delete(hostile, state),
                 lambda: guarded.update(hostile, state, api(tokens["api"]))):
        assert "connector Id" in refused(call)
    assert recorders.requests() == 0


@pytest.mark.parametrize("org", ["..", ".", "acme/../other", "%2e%2e", "a\\b"])
def test_a_hostile_org_in_state_is_refused_before_any_request(guarded: Driver, recorders: Recorders,  # noqa: F811
                                                              tokens: dict[str, str], org: str) -> None:
    state = {**api(tokens["api"]), "org": org, "connectorId": "bitbucket_main"}
    for call in (lambda: guarded.read("bitbucket_main", state, api(tokens["api"])),
                 lambda: guarded.delete("bitbucket_main", state)):
        assert "org" in refused(call)
    assert recorders.requests() == 0


@pytest.mark.parametrize("hostile", ["..", "a/b", "listall", "\x1b[2J"])
def test_get_connector_refuses_a_hostile_id_on_its_argument(guarded: Driver, recorders: Recorders,  # noqa: F811
                                                            hostile: str) -> None:
    found = guarded.invoke(GET_CONNECTOR, {"connectorId": hostile})
    assert [f.property for f in found.failures] == ["connectorId"]
    assert "not a valid StackGuardian connector Id" in found.failures[0].reason
    assert "\x1b" not in found.failures[0].reason
    assert recorders.requests() == 0


def test_a_server_record_under_a_hostile_id_is_never_read_into_state_or_written(
        guarded: Driver, recorders: Recorders, tokens: dict[str, str]) -> None:  # noqa: F811
    created = guarded.create(api(tokens["api"]))
    state = unwrap(plain(created.properties))
    recorders.stackguardian.answer(
        "GET", r"/integrations/bitbucket_main/$", lambda body: (200, {"msg": hostile_record(body["msg"], "..")}))
    recorders.stackguardian.lines.clear()
    assert "unreadable record" in refused(lambda: guarded.read(created.id, state, api(tokens["api"])))
    assert "unreadable record" in refused(lambda: guarded.update(created.id, state, api(tokens["api2"])))
    assert set(recorders.stackguardian.methods()) == {"GET"}


def test_a_failed_read_is_an_error_never_a_drop_from_state(guarded: Driver, recorders: Recorders,  # noqa: F811
                                                           tokens: dict[str, str]) -> None:
    """StackGuardian answering a 200 with an error body is an outage, not "gone": refresh fails, state stays."""
    created = guarded.create(api(tokens["api"]))
    state = unwrap(plain(created.properties))
    recorders.stackguardian.answer("GET", r"/integrations/", lambda body: (200, {"msg": "internal error"}),
                                   forward=False)
    assert "StackGuardian" in refused(lambda: guarded.read(created.id, state, api(tokens["api"])))


@pytest.mark.parametrize(("key", "template"), [
    ("apiUrl", "http://evil.example\\@{host}"), ("apiUrl", "http://user:pass@{host}"), ("apiUrl", "http://{host}#x"),
    ("bitbucketApiUrl", "http://{host}\\@evil.example/2.0"), ("org", ".."),
])
def test_a_hostile_stack_setting_is_refused_before_any_request(driver: Driver, emulator: Emulator,
                                                               tokens: dict[str, str],
                                                               recorders: Recorders,  # noqa: F811
                                                               network_guard: list[str],  # noqa: F811
                                                               key: str, template: str) -> None:
    host = recorders.stackguardian_url.removeprefix("http://")
    settings = {"apiUrl": recorders.stackguardian_url, "bitbucketApiUrl": recorders.bitbucket_url,
                key: template.format(host=host)}
    request = proto.CheckRequest(urn="urn:pulumi:test::native::pulumi:providers:sgbitbucket::default")
    request.news.update(settings)
    failures = driver.stub.CheckConfig(request).failures
    assert [f.property for f in failures] == [key] and "user:pass@" not in failures[0].reason
    driver.configure(emulator, **settings)
    assert "user:pass@" not in refused(lambda: driver.create(api(tokens["api"])))
    assert recorders.requests() == 0 and network_guard == []


@pytest.mark.parametrize(("key", "value"), [
    ("name", "evil\x1b[2Jname"), ("description", "bell\x07"), ("description", "nul\x00"),
    ("tags", ["ok", "bidi\u202eevil"]),
])
def test_control_characters_are_refused_at_check_and_never_written(guarded: Driver, recorders: Recorders,  # noqa: F811
                                                                   tokens: dict[str, str], key: str,
                                                                   value: object) -> None:
    failures = guarded.check(api(tokens["api"], **{key: value})).failures
    assert [f.property for f in failures] == [key], failures
    assert "\x1b" not in failures[0].reason and "\u202e" not in failures[0].reason
    refused(lambda: guarded.create(api(tokens["api"], **{key: value})))
    assert "POST" not in recorders.stackguardian.methods()
