"""The Pulumi provider on a StackGuardian that answers something unexpected: `pulumi refresh` fails the read
with the reason (the resource stays in the stack), never returns "deleted outside"; `pulumi up` never
creates over an answer it could not read. The hostile server sits in front of the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hostile_server import HostileServer, Reply
from pulumi_helpers import ORG, api_props, configured

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

ANY_READ = r"/integrations/(listall/|[^/]+/$)"

HOSTILE: list[tuple[str, Callable[[], Reply], str]] = [
    ("200 with an error body", lambda: Reply.json({"msg": "Internal error"}), "answered something unexpected"),
    ("items of the wrong type", lambda: Reply.json({"msg": ["a", "b"]}), "answered something unexpected"),
    ("gzip bomb", lambda: Reply.gzip_bomb(), "larger than the 16 MiB accepted"),
    ("drip", lambda: Reply.drip(b'{"msg": {"Id": "x"}}', every=0.1), "no complete answer within 0.3 s"),
]


@pytest.fixture
def stack(provider: BitbucketConnectorProvider, tokens: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Three connectors created for real: (id, outputs) as the stack keeps them."""
    created = [provider.create(api_props(tokens["api"], name=f"conn-{n}")) for n in range(3)]
    return [(str(result.id), dict(result.outs or {})) for result in created]


def through(server: HostileServer, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> BitbucketConnectorProvider:
    monkeypatch.setenv("SG_BITBUCKET_IAC_TIMEOUT", "0.3")
    return configured(emulator, apiUrl=server.url)


@pytest.mark.parametrize(("name", "reply", "words"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_failed_refresh_is_an_error_never_a_deleted_resource(
    emulator: Emulator, hostile: Callable[..., HostileServer], stack: list[tuple[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch, sentinel: str, name: str, reply: Callable[[], Reply], words: str,
) -> None:
    server = hostile(upstream=emulator.stackguardian_url)
    server.on("GET", ANY_READ, reply())
    provider = through(server, emulator, monkeypatch)

    def refresh(item: tuple[str, dict[str, Any]]) -> str:
        with pytest.raises(BitbucketConnectorError) as caught:
            provider.read(*item)
        return str(caught.value)

    with ThreadPoolExecutor(3) as pool:
        messages = list(pool.map(refresh, stack))
    for message in messages:
        assert message.startswith("read: ") and words in message, message
        assert sentinel not in message


def test_a_broken_listall_alone_still_refreshes_by_single_reads(
    emulator: Emulator, hostile: Callable[..., HostileServer], stack: list[tuple[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{stack[0][0]}")
    server = hostile(upstream=emulator.stackguardian_url)
    server.on("GET", "/listall/", Reply.json({"msg": "Internal error"}))
    provider = through(server, emulator, monkeypatch)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda item: provider.read(*item), stack))
    assert results[0].id is None  # deleted outside, as a real 404 said
    assert [r.id for r in results[1:]] == [stack[1][0], stack[2][0]]


def test_up_never_creates_over_an_unexpected_answer(
    emulator: Emulator, hostile: Callable[..., HostileServer], tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = hostile(upstream=emulator.stackguardian_url)
    server.on("GET", ANY_READ, Reply.json({"msg": "Internal error"}))
    provider = through(server, emulator, monkeypatch)
    with pytest.raises(BitbucketConnectorError, match="answered something unexpected"):
        provider.create(api_props(tokens["api"], name="brand-new"))
    assert server.count("POST", ".") == 0
