"""The admin API, the emulated clock, persistence with a state file, and the Emulator object."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from emu_helpers import API_KEY, ORG, SG, TIMEOUT, access_token_config, api_token_config, integration

from sg_bitbucket_iac.emulator import Emulator, EmulatorAdminError

RECORD = f"/stackguardian/orgs/{ORG}/integrations"
T0 = "2026-06-10T00:00:00Z"
T0_MS = 1781049600000


def bitbucket_available(emulator: Emulator) -> bool:
    return bool(emulator.admin("GET", "/health")["bitbucket"])


def test_health(emulator: Emulator) -> None:
    assert emulator.admin("GET", "/health")["status"] == "ok"


def test_post_orgs_for_an_existing_org_adds_keys(emulator: Emulator) -> None:
    emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": ["sgo_second"]})
    assert SG(emulator, ORG, API_KEY).listall().status_code == 200
    assert SG(emulator, ORG, "sgo_second").listall().status_code == 200
    assert emulator.admin("GET", "/orgs") == {"orgs": [ORG]}


@pytest.mark.parametrize("body", [{"api_keys": ["k"]}, {"org": "x", "api_keys": "k"}, {"org": "x", "api_keys": [""]}])
def test_post_orgs_validates(emulator: Emulator, body: dict[str, Any]) -> None:
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("POST", "/orgs", body)
    assert raised.value.status == 400


def test_admin_errors(emulator: Emulator) -> None:
    bad_json = requests.post(f"{emulator.admin_url}/orgs", data=b"{", timeout=TIMEOUT)
    assert (bad_json.status_code, "msg" in bad_json.json()) == (400, True)
    assert requests.get(f"{emulator.admin_url}/nothing", timeout=TIMEOUT).status_code == 404
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("GET", f"{RECORD}/missing")
    assert raised.value.status == 404


def test_raw_record_shows_secrets_unmasked(emulator: Emulator, sg: SG, sentinel: str) -> None:
    sg.create(integration("x", api_token_config(sentinel)))
    raw = emulator.admin("GET", f"{RECORD}/x")
    assert raw["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{sentinel}"
    assert emulator.admin("GET", RECORD)["records"] == [raw]


def test_edit_behind_the_tools_back(emulator: Emulator, sg: SG) -> None:
    emulator.admin("POST", "/clock", {"now": "2026-01-01T00:00:00Z"})
    created_at = sg.create(integration("x", api_token_config("s"))).json()["data"]["CreatedAt"]
    emulator.admin("POST", "/clock", {"now": T0})
    # No auth-type rules here: an API_TOKEN config without its email is stored as given.
    edited = emulator.admin("PATCH", f"{RECORD}/x", {
        "Description": "changed outside", "Tags": None, "IsActive": "0",
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "a:b"}]},
    })
    assert (edited["Description"], edited["Tags"], edited["IsActive"]) == ("changed outside", [], "0")
    assert (edited["CreatedAt"], edited["ModifiedAt"]) == (created_at, T0_MS)
    read = sg.get("x").json()["msg"]
    assert read["Settings"]["config"] == [{"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "********"}]
    assert read["ModifiedAt"] == T0_MS


@pytest.mark.parametrize(
    ("body", "message"),
    [({"Id": "other"}, "Id is immutable"), ({"CreatedAt": 1}, "cannot be edited"), ({"Settings": []}, "object")],
)
def test_edit_refuses(emulator: Emulator, sg: SG, body: dict[str, Any], message: str) -> None:
    sg.create(integration("x", access_token_config("t")))
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("PATCH", f"{RECORD}/x", body)
    assert raised.value.status == 400
    assert message in raised.value.msg


def test_delete_outside_the_tool(emulator: Emulator, sg: SG) -> None:
    sg.create(integration("x", access_token_config("t")))
    assert emulator.admin("DELETE", f"{RECORD}/x") == {"msg": "Connector x deleted"}
    assert sg.get("x").status_code == 404


def test_bulk_create(emulator: Emulator) -> None:
    records = [integration(f"c{i}", access_token_config("t")) for i in range(3)]
    assert emulator.admin("POST", "/stackguardian/orgs/newco/integrations/bulk", {"records": records}) == {
        "msg": "3 connectors created", "ids": ["c0", "c1", "c2"]}
    emulator.admin("POST", "/orgs", {"org": "newco", "api_keys": ["sgo_newco"]})
    assert len(SG(emulator, "newco", "sgo_newco").listall().json()["msg"]) == 3
    clashing = [integration("d0", {}, kind="GITLAB_COM"), integration("c0", {}, kind="GITLAB_COM")]
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("POST", "/stackguardian/orgs/newco/integrations/bulk", {"records": clashing})
    assert raised.value.msg == "records[1]: Connector c0 already exists; nothing was created"
    with pytest.raises(EmulatorAdminError):
        emulator.admin("GET", "/stackguardian/orgs/newco/integrations/d0")


# --------------------------------------------------------------------------- clock
def test_clock(emulator: Emulator, sg: SG) -> None:
    assert emulator.admin("GET", "/clock")["fixed"] is False
    assert emulator.admin("POST", "/clock", {"now": T0}) == {"now": "2026-06-10T00:00:00Z", "fixed": True}
    assert emulator.admin("GET", "/clock") == {"now": "2026-06-10T00:00:00Z", "fixed": True}
    assert sg.create(integration("x", access_token_config("t"))).json()["data"]["CreatedAt"] == T0_MS
    assert emulator.admin("POST", "/clock", {"now": None})["fixed"] is False
    for bad in ({"now": "yesterday"}, {"now": 5}, {}):
        with pytest.raises(EmulatorAdminError):
            emulator.admin("POST", "/clock", bad)


def test_clock_can_start_frozen() -> None:
    with Emulator(now=T0) as emulator:
        assert emulator.admin("GET", "/clock")["now"] == "2026-06-10T00:00:00Z"


# --------------------------------------------------------------------------- persistence
def seed_everything(emulator: Emulator, sentinel: str) -> dict[str, Any]:
    emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
    emulator.admin("POST", "/clock", {"now": T0})
    sg = SG(emulator)
    assert sg.create(integration("x", access_token_config(sentinel), Tags=["t"])).status_code == 200
    emulator.admin("PATCH", f"{RECORD}/x", {"Authentication": {"authenticated": False}})
    if bitbucket_available(emulator):
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PROJ"}],
                                                         "repositories": [{"slug": "infra", "project": "PROJ"}]})
    return emulator.admin("GET", f"{RECORD}/x")


def test_state_survives_a_restart(tmp_path: Path, sentinel: str) -> None:
    state_file = tmp_path / "emulator-state.json"
    with Emulator(state_file=state_file) as first:
        record = seed_everything(first, sentinel)
        bitbucket = bitbucket_available(first)
    assert json.loads(state_file.read_text())["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["emulator-state.json"]  # no temp file left behind
    with Emulator(state_file=state_file) as second:
        assert second.admin("GET", "/clock") == {"now": "2026-06-10T00:00:00Z", "fixed": True}
        sg = SG(second)
        read = sg.get("x").json()["msg"]
        assert read["CreatedAt"] == record["CreatedAt"]
        assert read["Authentication"]["authenticated"] is False
        assert second.admin("GET", f"{RECORD}/x") == record
        if bitbucket:
            assert "acme" in json.dumps(json.loads(state_file.read_text())["bitbucket"])


def test_state_is_saved_soon_after_a_change_without_closing(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with Emulator(state_file=state_file) as emulator:
        emulator.admin("POST", "/orgs", {"org": "saved", "api_keys": ["k"]})
        deadline = time.monotonic() + 30  # a bound for a stalled writer, not a speed check
        while not state_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert json.loads(state_file.read_text())["orgs"] == {"saved": ["k"]}
        emulator.admin("POST", "/orgs", {"org": "saved", "api_keys": ["k2"]})
        emulator.flush_state()
        assert json.loads(state_file.read_text())["orgs"] == {"saved": ["k", "k2"]}


def test_a_bad_state_file_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="version"):
        Emulator(state_file=state_file)
    assert json.loads(state_file.read_text()) == {"version": 99}


# --------------------------------------------------------------------------- the Emulator object
def test_urls_have_the_settings_form(emulator: Emulator) -> None:
    assert emulator.stackguardian_url.startswith("http://127.0.0.1:")
    assert not emulator.stackguardian_url.endswith("/api/v1")
    assert emulator.bitbucket_url.endswith("/2.0")
    assert set(emulator.urls) == {"stackguardian_url", "bitbucket_url", "admin_url"}


def test_non_loopback_hosts_are_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")


def test_switches_are_checked() -> None:
    with pytest.raises(TypeError):
        Emulator(no_such_switch=True)
    with pytest.raises(ValueError, match="secret_read_mode"):
        Emulator(secret_read_mode="plain")


def free_port_triple() -> int:
    """A port P with P, P+1 and P+2 free at the moment of asking."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 2 > 65535:
            continue
        sockets = []
        try:
            for offset in range(3):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no three consecutive free ports")


def test_a_fixed_port_uses_three_consecutive_ports() -> None:
    port = free_port_triple()
    with Emulator(port=port) as emulator:
        assert emulator.stackguardian_url == f"http://127.0.0.1:{port}"
        assert emulator.bitbucket_url == f"http://127.0.0.1:{port + 1}/2.0"
        assert emulator.admin_url == f"http://127.0.0.1:{port + 2}"


def test_connections_are_kept_alive_over_http_1_1(emulator: Emulator, sg: SG) -> None:
    first = sg.listall()
    second = sg.listall()
    assert first.raw.version == 11
    assert "close" not in first.headers.get("Connection", "")
    assert second.status_code == 200


def test_close_is_idempotent_and_ends_open_connections(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory()
    sg = SG(emulator)
    assert sg.listall().status_code == 200  # leaves a pooled keep-alive connection open
    emulator.close()
    emulator.close()
    with pytest.raises(requests.exceptions.ConnectionError):
        sg.listall()


# --------------------------------------------------------------------------- the Bitbucket side
def test_bitbucket_admin_routes_are_wired(emulator: Emulator, sentinel: str) -> None:
    if not bitbucket_available(emulator):
        with pytest.raises(EmulatorAdminError):
            emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme"})
        return
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PROJ"}],
                                                     "repositories": [{"slug": "infra", "project": "PROJ"}]})
    credential = emulator.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": sentinel, "email": "alice@acme.io", "username": "alice",
        "scopes": ["read:user:bitbucket", "read:workspace:bitbucket"], "workspaces": ["acme"]})
    assert sentinel not in json.dumps(credential)
    user = requests.get(f"{emulator.bitbucket_url}/user", auth=("alice@acme.io", sentinel), timeout=TIMEOUT)
    assert user.status_code == 200
    emulator.admin("PATCH", f"/bitbucket/credentials/{credential['fingerprint']}", {"revoked": True})
    revoked = requests.get(f"{emulator.bitbucket_url}/user", auth=("alice@acme.io", sentinel), timeout=TIMEOUT)
    assert revoked.status_code == 401
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("PATCH", "/bitbucket/credentials/unknown", {"revoked": True})
    assert raised.value.status == 404
    with pytest.raises(EmulatorAdminError) as bad:
        emulator.admin("POST", "/bitbucket/credentials", {"kind": "password"})
    assert bad.value.status == 400
    stats = emulator.admin("GET", "/stats")["bitbucket"]
    assert stats["total"] == 2 and stats["by_route"] == {"GET /2.0/user": 2}
