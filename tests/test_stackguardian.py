"""The StackGuardian client against the emulator over loopback HTTP (no mocks at this layer)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DuplicateError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wire import observed_from_record, patch_settings_payload, settings_payload, to_create_payload

ORG = "acme"
KEY = "sgo_test_key"


@pytest.fixture
def client(emulator: Emulator) -> StackGuardianClient:
    return StackGuardianClient(emulator.stackguardian_url, KEY, ORG, backoff=0.01, timeout=(2.0, 5.0))


def api_token_payload(sentinel: str, name: str = "bitbucket-main") -> dict[str, Any]:
    connector = parse_connector({"name": name, "workspace": "acme", "description": "Main", "tags": ["platform"],
                                 "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io",
                                          "api_token": sentinel}})
    return to_create_payload(connector, {"sg-bitbucket-iac/workspace": "acme"})


def stats(emulator: Emulator) -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin("GET", "/stats")["stackguardian"]
    return result


def raw(emulator: Emulator, connector_id: str) -> dict[str, Any]:
    return emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}")


def test_crud_round_trip_with_masked_read(emulator: Emulator, client: StackGuardianClient, sentinel: str) -> None:
    created = client.create(api_token_payload(sentinel))
    assert created["Id"] == "bitbucket_main"
    fetched = client.get("bitbucket_main")
    config = fetched["Settings"]["config"][0]
    assert config["bitbucketCreds"] == "********" and config["bitbucketEmail"] == "alice@acme.io"
    assert sentinel not in repr(fetched)
    assert raw(emulator, "bitbucket_main")["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{sentinel}"

    updated = client.update("bitbucket_main", {"Description": "Changed"})
    assert updated["Description"] == "Changed" and updated["CreatedAt"] == created["CreatedAt"]
    assert updated["ModifiedAt"] >= created["ModifiedAt"]
    assert [r["Id"] for r in client.list_all()] == ["bitbucket_main"]

    assert client.delete("bitbucket_main") is True
    assert client.find("bitbucket_main") is None
    assert client.delete("bitbucket_main", missing_ok=True) is False
    with pytest.raises(NotFoundError):
        client.get("bitbucket_main")


def test_auth_type_switch_sends_complete_new_set_and_leaves_nothing_old(
    emulator: Emulator, client: StackGuardianClient, sentinel: str
) -> None:
    client.create(api_token_payload(sentinel))
    access = parse_connector({"name": "bitbucket-main", "workspace": "acme",
                              "auth": {"type": "access_token", "access_token": sentinel + "-at"}})
    # The PATCH form of Settings (explicit nulls for the old type), as the engine sends it.
    client.update("bitbucket_main", {"Settings": patch_settings_payload(access.auth)})
    config = raw(emulator, "bitbucket_main")["Settings"]["config"][0]
    assert config == {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": sentinel + "-at"}
    observed = observed_from_record(client.get("bitbucket_main"))
    assert observed.auth_type is not None and observed.auth_type.value == "access_token"
    # The server refuses a switch that lacks the new type's fields (the UI rule).
    with pytest.raises(BadRequestError):
        client.update("bitbucket_main", {"Settings": {"kind": "BITBUCKET_ORG",
                                                      "config": [{"bitbucketAuthType": "API_TOKEN"}]}})


def test_duplicate_is_typed(client: StackGuardianClient, sentinel: str) -> None:
    client.create(api_token_payload(sentinel))
    # The same declaration again is the idempotent case (a lost answer, a concurrent apply): accepted.
    assert client.create(api_token_payload(sentinel))["Id"] == "bitbucket_main"
    other = api_token_payload(sentinel)
    other["Description"] = "Someone else's"
    with pytest.raises(DuplicateError) as caught:
        client.create(other)
    assert "already exists" in str(caught.value) and sentinel not in str(caught.value)
    assert "Description" in str(caught.value) and "pick another Id" not in str(caught.value)


def test_paging_1200_connectors_with_limit_500_takes_3_requests(
    emulator: Emulator, client: StackGuardianClient
) -> None:
    records = [
        {"Id": f"conn_{i:04d}", "ResourceName": f"conn-{i:04d}",
         "Settings": {"kind": "BITBUCKET_ORG",
                      "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": f"tok{i}"}]}}
        for i in range(1200)
    ]
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})
    emulator.admin("DELETE", "/stats")
    ids = [r["Id"] for r in client.list_all(limit=500)]
    assert len(ids) == 1200 and len(set(ids)) == 1200 and ids == sorted(ids)
    assert stats(emulator)["by_route"] == {"GET /api/v1/orgs/{org}/integrations/listall/": 3}


def test_rate_limited_twice_then_ok_converges(emulator: Emulator, client: StackGuardianClient, sentinel: str) -> None:
    client.create(api_token_payload(sentinel))
    emulator.admin("DELETE", "/stats")
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/bitbucket_main",
                                       "method": "GET", "status": 429, "times": 2,
                                       "headers": {"Retry-After": "0"}})
    assert client.get("bitbucket_main")["Id"] == "bitbucket_main"
    assert stats(emulator)["by_method"]["GET"] == 3


def test_503_on_create_after_the_record_was_stored_leaves_one_connector(
    emulator: Emulator, client: StackGuardianClient, sentinel: str
) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/?$", "method": "POST",
                                       "status": 503, "times": 1, "after": True})
    record = client.create(api_token_payload(sentinel))
    assert record["Id"] == "bitbucket_main"
    assert [r["Id"] for r in client.list_all()] == ["bitbucket_main"]
    assert stats(emulator)["by_method"]["POST"] == 1  # looked up, not re-posted


def test_dropped_connection_on_create_converges_to_one_connector(
    emulator: Emulator, client: StackGuardianClient, sentinel: str
) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/?$", "method": "POST",
                                       "drop": True, "times": 1, "after": True})
    client.create(api_token_payload(sentinel))
    assert [r["Id"] for r in client.list_all()] == ["bitbucket_main"]


def test_dropped_connection_before_storing_is_retried(
    emulator: Emulator, client: StackGuardianClient, sentinel: str
) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations/?$", "method": "POST",
                                       "drop": True, "times": 1})
    client.create(api_token_payload(sentinel))
    assert [r["Id"] for r in client.list_all()] == ["bitbucket_main"]
    assert stats(emulator)["by_method"]["POST"] == 2


def test_outage_that_persists_is_a_typed_error(emulator: Emulator, client: StackGuardianClient) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "status": 503})
    with pytest.raises(ServerError) as caught:
        client.get("anything")
    assert caught.value.category == "outage" and "try later" in str(caught.value)
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "status": 429, "reset": True,
                                       "headers": {"Retry-After": "0"}})
    with pytest.raises(RateLimitedError):
        client.get("anything")


def test_auth_errors_are_told_apart(emulator: Emulator, sentinel: str) -> None:
    bad_key = StackGuardianClient(emulator.stackguardian_url, sentinel, ORG, backoff=0.01)
    with pytest.raises(AuthenticationError) as caught:
        bad_key.get("x")
    assert sentinel not in str(caught.value)
    emulator.admin("POST", "/orgs", {"org": "other", "api_keys": ["sgo_other"]})
    wrong_org = StackGuardianClient(emulator.stackguardian_url, "sgo_other", ORG, backoff=0.01)
    with pytest.raises(PermissionDeniedError):
        wrong_org.get("x")


def test_bad_request_carries_server_message(client: StackGuardianClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.create({"Id": "x", "ResourceName": "x", "Settings": {"kind": "NOT_A_KIND", "config": [{}]}})
    assert caught.value.server_message


def test_unreachable_is_a_transport_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = StackGuardianClient(f"http://127.0.0.1:{port}", KEY, ORG, retries=1, backoff=0.01)
    with pytest.raises(TransportError) as caught:
        client.get("x")
    assert "connection refused" in str(caught.value)


def test_plain_http_refused_unless_loopback() -> None:
    with pytest.raises(ConfigurationError, match="unencrypted"):
        StackGuardianClient("http://api.example.com", KEY, ORG)
    with pytest.raises(ConfigurationError, match="unencrypted"):
        Settings.resolve(api_url="http://10.0.0.5:8080", environ={})
    assert Settings.resolve(api_url="http://localhost:9", environ={}).api_url == "http://localhost:9"


def test_settings_env_precedence() -> None:
    env = {"SG_API_TOKEN": "a", "STACKGUARDIAN_API_KEY": "b", "STACKGUARDIAN_ORG_NAME": "o2",
           "SG_BASE_URL": "https://x.example"}
    settings = Settings.resolve(environ=env)
    assert settings.api_key is not None and settings.api_key.reveal() == "a"
    assert settings.org == "o2" and settings.api_url == "https://x.example"
    assert Settings.resolve(org="explicit", environ=env).org == "explicit"


def test_sentinel_never_in_logs_reprs_or_errors(
    emulator: Emulator, client: StackGuardianClient, sentinel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.create(api_token_payload(sentinel))
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "status": 500, "times": 10})
    with pytest.raises(ServerError) as caught:
        client.update("bitbucket_main", {"Settings": settings_payload(
            parse_connector({"name": "n", "workspace": "acme", "auth": {
                "type": "access_token", "access_token": sentinel + "-2"}}).auth)})
    for text in (caplog.text, str(caught.value), repr(caught.value), repr(client)):
        assert sentinel not in text


def test_a_netrc_entry_cannot_replace_the_api_key(
    emulator: Emulator, client: StackGuardianClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something-else\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert client.list_all() is not None and list(client.list_all()) == []
