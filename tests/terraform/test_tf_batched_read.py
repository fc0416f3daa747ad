"""The Terraform provider's refresh reads go through the batched reader: one request for many, same answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tf_helpers import ORG, TerraformSim, configured_provider

from sg_bitbucket_iac.batch_read import BatchedClient
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource


def _record(index: int) -> dict[str, Any]:
    return {"Id": f"conn_{index:05d}", "ResourceName": f"conn-{index:05d}", "Description": "seeded",
            "Settings": {"kind": "BITBUCKET_ORG",
                         "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": f"tok{index}"}]}}


def test_refresh_of_30_connectors_is_one_request_and_sees_outside_changes(workspace: Emulator) -> None:
    records = [_record(i) for i in range(30)]
    workspace.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})
    workspace.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/conn_00003", {"Description": "UI edit"})
    workspace.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/conn_00004")
    provider = configured_provider(workspace)
    assert provider.engine is not None and isinstance(provider.engine.client, BatchedClient)
    sim = TerraformSim(ConnectorResource(provider))
    states = [{"id": f"conn_{i:05d}", "connector_id": f"conn_{i:05d}", "name": f"conn-{i:05d}",
               "description": "seeded", "tags": None, "auth_type": "access_token"} for i in range(30)]
    workspace.admin("DELETE", "/stats")
    with ThreadPoolExecutor(10) as pool:  # Terraform's default -parallelism
        refreshed = list(pool.map(sim.read, states))
    assert workspace.admin("GET", "/stats")["stackguardian"]["total"] == 1
    assert all(not diags.has_errors() for _, diags in refreshed)
    assert refreshed[4][0] is None  # deleted outside: dropped from state
    assert refreshed[3][0] is not None and refreshed[3][0]["description"] == "UI edit"
    assert refreshed[5][0] is not None and refreshed[5][0]["description"] == "seeded"
    provider.engine.client.close()
