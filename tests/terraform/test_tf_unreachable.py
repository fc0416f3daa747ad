"""A Bitbucket that cannot be reached is said in words at `terraform plan` (issue 22, part 5): an
inconclusive preflight, a warning naming the host and what happened, never a library's class name."""

from __future__ import annotations

import socket

from tf_helpers import TerraformSim, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_bitbucket_is_a_warning_in_words(workspace: Emulator, sentinel: str) -> None:
    provider = configured_provider(workspace, preflight=True,
                                   bitbucket_api_url=f"http://127.0.0.1:{closed_port()}/2.0")
    _, diags, _ = TerraformSim(ConnectorResource(provider)).plan(None, api_token_config(sentinel))
    text = str(diags)
    assert not diags.has_errors() and diags.has_warnings(), text  # inconclusive: never "invalid"
    assert "cannot reach 127.0.0.1" in text and "connection refused" in text, text
    for class_name in ("ConnectionError", "NewConnectionError", "MaxRetryError"):
        assert class_name not in text
    assert sentinel not in text
