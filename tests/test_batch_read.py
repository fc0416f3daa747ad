"""Batched reads against the emulator: every answer equals the single GET's, in far fewer requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sg_bitbucket_iac.batch_read import BatchedClient, BatchReader
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import ServerError, TransportError
from sg_bitbucket_iac.stackguardian import StackGuardianClient

ORG = "acme"
KEY = "sgo_test_key"


def bitbucket_record(index: int) -> dict[str, Any]:
    return {"Id": f"conn_{index:05d}", "ResourceName": f"conn-{index:05d}", "Description": f"seeded {index}",
            "Settings": {"kind": "BITBUCKET_ORG",
                         "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": f"tok{index}"}]}}


def github_record(index: int) -> dict[str, Any]:
    return {"Id": f"gh_{index:05d}", "ResourceName": f"gh-{index:05d}",
            "Settings": {"kind": "GITHUB_COM", "config": [{"githubCreds": f"octo:tok{index}"}]}}


def seed(emulator: Emulator, bitbucket: int, github: int = 0) -> None:
    records = [bitbucket_record(i) for i in range(bitbucket)] + [github_record(i) for i in range(github)]
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})


def requests_made(emulator: Emulator) -> dict[str, int]:
    stats = emulator.admin("GET", "/stats")["stackguardian"]
    return {"total": stats["total"], **stats["by_route"]}


def reset_stats(emulator: Emulator) -> None:
    emulator.admin("DELETE", "/stats")


def clients(emulator: Emulator) -> tuple[BatchedClient, StackGuardianClient]:
    args = (emulator.stackguardian_url, KEY, ORG)
    return BatchedClient(*args, backoff=0.01), StackGuardianClient(*args, backoff=0.01)


def same_read(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record without the moment StackGuardian last checked its credentials (each read sets it)."""
    if record is None:
        return None
    auth = {k: v for k, v in (record.get("Authentication") or {}).items() if k != "authenticatedAt"}
    return {**record, "Authentication": auth}


def concurrent_finds(client: StackGuardianClient, ids: list[str], parallelism: int = 10) -> list[Any]:
    """As Terraform's refresh walk asks: `parallelism` reads at a time from their own threads."""
    with ThreadPoolExecutor(parallelism) as pool:
        return [same_read(r) for r in pool.map(client.find, ids)]


def test_a_plan_of_50_reads_with_one_request_and_the_answers_of_single_gets(emulator: Emulator) -> None:
    seed(emulator, 50, github=5)
    batched, single = clients(emulator)
    ids = [f"conn_{i:05d}" for i in range(50)]
    reset_stats(emulator)
    answers = concurrent_finds(batched, ids)
    assert requests_made(emulator)["total"] == 1
    assert answers == [same_read(single.get(i)) for i in ids]


def test_deleted_and_changed_outside_and_other_kinds_read_as_single_gets_do(emulator: Emulator) -> None:
    seed(emulator, 40, github=3)
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/conn_00007")
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/conn_00011",
                   {"Description": "edited in the UI", "Tags": ["ui"]})
    batched, single = clients(emulator)
    ids = [f"conn_{i:05d}" for i in range(40)] + ["gh_00001", "no_such_connector"]
    answers = dict(zip(ids, concurrent_finds(batched, ids), strict=True))
    assert answers["conn_00007"] is None and single.find("conn_00007") is None
    assert answers["no_such_connector"] is None
    assert answers["conn_00011"]["Description"] == "edited in the UI"
    assert answers["gh_00001"]["Settings"]["kind"] == "GITHUB_COM"
    assert answers == {i: same_read(single.find(i)) for i in ids}


def test_more_than_500_connectors_are_paged_and_still_exact(emulator: Emulator) -> None:
    seed(emulator, 1200, github=30)
    batched, single = clients(emulator)
    ids = [f"conn_{i:05d}" for i in range(0, 1200, 2)]  # 600 managed of 1,230
    reset_stats(emulator)
    answers = concurrent_finds(batched, ids)
    made = requests_made(emulator)
    assert made["total"] <= 4, made  # 3 pages (+ at most one GET while the first page was in flight)
    assert made.get("GET /api/v1/orgs/{org}/integrations/listall/") == 3
    assert answers == [same_read(single.get(i)) for i in ids]


def test_a_few_reads_in_a_large_org_stay_single_gets(emulator: Emulator) -> None:
    seed(emulator, 3000)
    batched, _ = clients(emulator)
    reset_stats(emulator)
    for connector_id in ("conn_02990", "conn_02991", "conn_02992", "conn_02993", "conn_02994", "conn_02995"):
        assert batched.find(connector_id) is not None
    made = requests_made(emulator)
    # Six reads: at most two pages were worth trying; the rest are GETs (never the 6 pages of the org).
    assert made.get("GET /api/v1/orgs/{org}/integrations/listall/", 0) <= 2, made
    assert made["total"] <= 8, made


def test_own_writes_are_read_back_fresh(emulator: Emulator) -> None:
    seed(emulator, 5)
    batched, _ = clients(emulator)
    assert batched.find("conn_00001")["Description"] == "seeded 1"
    batched.update("conn_00001", {"Description": "written here"})
    assert batched.find("conn_00001")["Description"] == "written here"
    batched.delete("conn_00002")
    assert batched.find("conn_00002") is None
    assert batched.find("conn_00003")["Description"] == "seeded 3"  # still from the scan


def test_pages_are_not_reused_after_they_go_stale() -> None:
    now = [0.0]
    store = {"a": {"Id": "a", "Description": "v1"}}
    scans: list[int] = []

    def scan() -> Any:
        scans.append(1)
        return iter([dict(r) for r in store.values()])

    reader = BatchReader(lambda i: dict(store[i]) if i in store else None, scan, fresh_seconds=60,
                         clock=lambda: now[0])
    assert reader.find("a") == {"Id": "a", "Description": "v1"}
    store["a"]["Description"] = "v2"
    now[0] = 30.0
    assert reader.find("a") == {"Id": "a", "Description": "v1"}  # the same walk: one of the orders GETs take
    now[0] = 61.0
    assert reader.find("a") == {"Id": "a", "Description": "v2"}
    assert len(scans) == 2


def test_a_failed_scan_page_falls_back_to_the_reads_own_gets(emulator: Emulator) -> None:
    seed(emulator, 20)
    batched, single = clients(emulator)
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "listall", "status": 503})
    ids = [f"conn_{i:05d}" for i in range(20)]
    assert concurrent_finds(batched, ids) == [same_read(single.get(i)) for i in ids]
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "status": 503})
    with pytest.raises(ServerError):
        batched.find("conn_00000x")


def named_ids(client: StackGuardianClient, name: str) -> list[str]:
    return sorted(str(r["Id"]) for r in client.list_all(resource_names=[name]))


def test_name_lookups_before_creates_share_the_scan_and_answer_as_the_filtered_listall(emulator: Emulator) -> None:
    seed(emulator, 60, github=3)
    # A hand-made connector holding a name under another Id, and a GitHub connector with a Bitbucket name.
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [
        {**bitbucket_record(900), "Id": "handmade_x", "ResourceName": "new-x"},
        {**github_record(901), "ResourceName": "new-y"}]})
    batched, single = clients(emulator)
    names = [f"new-{suffix}" for suffix in ("x", "y", "z")] + [f"conn-{i:05d}" for i in range(0, 60, 3)]
    reset_stats(emulator)
    with ThreadPoolExecutor(10) as pool:
        answers = dict(zip(names, pool.map(lambda n: named_ids(batched, n), names), strict=True))
    assert requests_made(emulator)["total"] == 1  # one scan, not one filtered listall per name
    assert answers["new-x"] == ["handmade_x"] and answers["new-y"] == [] and answers["new-z"] == []
    assert answers == {n: named_ids(single, n) for n in names}


def test_name_lookups_see_this_processes_own_writes_without_asking_again(emulator: Emulator) -> None:
    seed(emulator, 5)
    batched, single = clients(emulator)
    assert named_ids(batched, "fresh") == []  # from the scan
    batched.create({**bitbucket_record(50), "Id": "fresh_one", "ResourceName": "fresh"})
    batched.update("conn_00001", {"ResourceName": "renamed"})
    batched.delete("conn_00002")
    reset_stats(emulator)
    answers = {n: named_ids(batched, n) for n in ("fresh", "renamed", "conn-00001", "conn-00002", "conn-00003")}
    assert requests_made(emulator)["total"] == 0  # own creates, renames and deletes come from their answers
    assert answers == {"fresh": ["fresh_one"], "renamed": ["conn_00001"], "conn-00001": [], "conn-00002": [],
                       "conn-00003": ["conn_00003"]}
    assert answers == {n: named_ids(single, n) for n in answers}


def test_after_a_failed_write_a_name_lookup_asks_the_server(emulator: Emulator,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seed(emulator, 5)
    batched, _ = clients(emulator)
    assert named_ids(batched, "fresh") == []
    real_create = StackGuardianClient.create

    def lands_then_fails(self: StackGuardianClient, payload: Any, **options: Any) -> Any:
        real_create(self, payload, **options)
        raise TransportError("connection dropped", operation="create connector")

    monkeypatch.setattr(StackGuardianClient, "create", lands_then_fails)
    with pytest.raises(TransportError):
        batched.create({**bitbucket_record(50), "Id": "fresh_one", "ResourceName": "fresh"})
    reset_stats(emulator)
    assert named_ids(batched, "fresh") == ["fresh_one"]  # it did land, and only the server can say so
    assert requests_made(emulator)["total"] == 1


def test_a_name_lookup_in_a_large_org_is_one_filtered_listall(emulator: Emulator) -> None:
    seed(emulator, 3000)
    batched, single = clients(emulator)
    reset_stats(emulator)
    assert named_ids(batched, "conn-02999") == named_ids(single, "conn-02999") == ["conn_02999"]
    made = requests_made(emulator)
    # One page was worth trying for one lookup; the org has six, so the answer is the server's filter.
    assert made.get("GET /api/v1/orgs/{org}/integrations/listall/") == 3, made  # page, filtered, single's
