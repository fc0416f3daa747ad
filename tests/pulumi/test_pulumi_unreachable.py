"""A Bitbucket that cannot be reached is said in words at `pulumi preview` (issue 22, part 5): the check
passes with a warning (inconclusive, never "invalid") naming the host and what happened."""

from __future__ import annotations

import socket

import pytest
from pulumi_helpers import api_props, configured

from sg_bitbucket_iac.emulator import Emulator


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_bitbucket_is_a_warning_in_words(emulator: Emulator, tokens: dict[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    provider = configured(emulator, bitbucketApiUrl=f"http://127.0.0.1:{closed_port()}/2.0")
    result = provider.check({}, api_props(tokens["api"]))
    assert not result.failures
    warned = capsys.readouterr().err
    assert "cannot reach 127.0.0.1" in warned and "connection refused" in warned, warned
    for class_name in ("ConnectionError", "NewConnectionError", "MaxRetryError"):
        assert class_name not in warned
    assert tokens["api"] not in warned
