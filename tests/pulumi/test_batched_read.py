"""The Pulumi provider's reads (refresh) go through the batched reader: one request for many, same answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pulumi_helpers import ORG, configured

from sg_bitbucket_iac.batch_read import BatchedClient
from sg_bitbucket_iac.emulator import Emulator


def _record(index: int) -> dict[str, Any]:
    return {"Id": f"conn_{index:05d}", "ResourceName": f"conn-{index:05d}", "Description": "seeded",
            "Settings": {"kind": "BITBUCKET_ORG",
                         "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": f"tok{index}"}]}}


def test_refresh_of_30_connectors_is_one_request_and_sees_outside_changes(emulator: Emulator) -> None:
    emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": [_record(i) for i in range(30)]})
    emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/conn_00003", {"Description": "UI edit"})
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/conn_00004")
    provider = configured(emulator)
    emulator.admin("DELETE", "/stats")
    with ThreadPoolExecutor(10) as pool:
        # A refresh carries the prior state; an empty one would be `BitbucketConnector.get`, where missing is an error.
        results = list(pool.map(lambda i: provider.read(f"conn_{i:05d}", {"org": ORG, "connector_id": f"conn_{i:05d}"}),
                                range(30)))
    assert emulator.admin("GET", "/stats")["stackguardian"]["total"] == 1
    assert results[4].id is None  # deleted outside: refresh drops it
    assert results[3].outs["description"] == "UI edit"
    assert results[5].outs["description"] == "seeded"
    assert isinstance(provider._engine().client, BatchedClient)
