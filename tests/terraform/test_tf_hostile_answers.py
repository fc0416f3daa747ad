"""The Terraform provider on a StackGuardian that answers something unexpected (through the provider functions,
as Terraform calls them): a failed read is an error diagnostic and the resource stays in state, never a
drop; a plan never creates over an answer it could not read; import and the data source fail in words.

The hostile server sits in front of the emulator: what it does not script is the emulator's own answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hostile_server import HostileServer, Reply
from tf.iface import ReadDataContext
from tf.utils import Diagnostic, Diagnostics
from tf_helpers import API_KEY, ORG, TerraformSim, api_token_config

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_data_source import ConnectorDataSource
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

ANY_READ = r"/integrations/(listall/|[^/]+/$)"  # every GET of a record or of a listall page


def endless_cursor() -> Callable[..., Reply]:
    pages = itertools.count(1)
    return lambda request: Reply.json({"msg": [], "lastevaluatedkey": f"page-{next(pages)}"}
                                      if "listall" in request.path else {"msg": "Internal error"})


HOSTILE: list[tuple[str, Callable[[], Reply | Callable[..., Reply]], str]] = [
    ("200 with an error body", lambda: Reply.json({"msg": "Internal error"}), "answered something unexpected"),
    ("not JSON", lambda: Reply.text("<html>Bad gateway</html>"), "its body is not JSON"),
    ("gzip bomb", lambda: Reply.gzip_bomb(), "larger than the 16 MiB accepted"),
    ("deep JSON", lambda: Reply.deep_json(50_000), "nests deeper than 32 levels"),
    ("drip", lambda: Reply.drip(b'{"msg": {"Id": "x"}}', every=0.1), "no complete answer within 0.3 s"),
    ("endless cursor", endless_cursor, "answered something unexpected"),
]


def provider_through(server: HostileServer, emulator: Emulator) -> SGBitbucketProvider:
    provider = SGBitbucketProvider(environ={"SG_BITBUCKET_IAC_TIMEOUT": "0.3"})
    diags = Diagnostics()
    provider.configure_provider(diags, {"api_key": API_KEY, "org_name": ORG, "api_uri": server.url,
                                        "bitbucket_api_url": emulator.bitbucket_url, "preflight": False})
    assert not diags.has_errors(), str(diags)
    return provider


@pytest.fixture
def states(sim: TerraformSim, sentinel: str) -> list[dict[str, Any]]:
    """Five connectors applied for real (state as Terraform keeps it)."""
    return [sim.plan_and_apply(None, api_token_config(sentinel, name=f"conn-{n}")) for n in range(5)]


def errors_of(diags: Diagnostics) -> str:
    return " ".join(f"{d.summary} {d.detail}" for d in diags.diagnostics if d.severity == Diagnostic.ERROR)


@pytest.mark.parametrize(("name", "reply", "words"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_failed_refresh_keeps_every_resource_in_state(
    workspace: Emulator, hostile: Callable[..., HostileServer], states: list[dict[str, Any]], sentinel: str,
    name: str, reply: Callable[[], Reply | Callable[..., Reply]], words: str,
) -> None:
    server = hostile(upstream=workspace.stackguardian_url)
    server.on("GET", ANY_READ, reply())
    sim = TerraformSim(ConnectorResource(provider_through(server, workspace)))
    with ThreadPoolExecutor(5) as pool:  # Terraform refreshes in parallel: the reads share one scan
        refreshed = list(pool.map(sim.read, states))
    for (state, diags), before in zip(refreshed, states, strict=True):
        assert state == before  # kept, unchanged: never None (which drops it from state)
        assert diags.has_errors() and words in errors_of(diags), errors_of(diags)
        assert sentinel not in errors_of(diags)


def test_a_broken_listall_alone_is_never_taken_for_deleted_connectors(
    workspace: Emulator, hostile: Callable[..., HostileServer], states: list[dict[str, Any]]
) -> None:
    """The scan fails, so each read asks with its own GET: only a real 404 drops a resource."""
    workspace.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{states[0]['id']}")
    server = hostile(upstream=workspace.stackguardian_url)
    server.on("GET", "/listall/", Reply.json({"msg": "Internal error"}))
    sim = TerraformSim(ConnectorResource(provider_through(server, workspace)))
    with ThreadPoolExecutor(5) as pool:
        refreshed = list(pool.map(sim.read, states))
    assert refreshed[0] == (None, refreshed[0][1]) and not refreshed[0][1].has_errors()  # deleted outside, for real
    for state, diags in refreshed[1:]:
        assert state is not None and not diags.has_errors()
    assert server.count("GET", r"/integrations/[^/]+/$") - server.count("GET", "listall") == 5


def test_a_create_is_never_planned_over_an_unexpected_answer(
    workspace: Emulator, hostile: Callable[..., HostileServer], sentinel: str
) -> None:
    server = hostile(upstream=workspace.stackguardian_url)
    server.on("GET", ANY_READ, Reply.json({"msg": "Internal error"}))
    sim = TerraformSim(ConnectorResource(provider_through(server, workspace)))
    _planned, diags, _ = sim.plan(None, api_token_config(sentinel, name="brand-new"))
    assert diags.has_errors() and "answered something unexpected" in errors_of(diags)
    assert server.count("POST", ".") == 0


def test_import_and_the_data_source_fail_in_words(
    workspace: Emulator, hostile: Callable[..., HostileServer], states: list[dict[str, Any]]
) -> None:
    server = hostile(upstream=workspace.stackguardian_url)
    server.on("GET", ANY_READ, Reply.json({"msg": [], "lastevaluatedkey": 7}))
    provider = provider_through(server, workspace)
    imported, diags = TerraformSim(ConnectorResource(provider)).import_(states[0]["id"])
    assert imported is None and "answered something unexpected" in errors_of(diags)
    for lookup in ({"connector_id": states[0]["id"], "name": None}, {"connector_id": None, "name": "conn-1"}):
        diags = Diagnostics()
        assert ConnectorDataSource(provider).read(ReadDataContext(diags, "sgbitbucket_connector"), lookup) is None
        assert "answered something unexpected" in errors_of(diags)
