"""Fixtures for the native provider's unit tests: the gRPC service in this process, configured for an emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("pulumi")

from native_driver import Driver, running

from sg_bitbucket_iac.emulator import Emulator


@pytest.fixture
def driver(emulator: Emulator, tokens: dict[str, str]) -> Iterator[Driver]:
    with running() as started:
        started.configure(emulator)
        yield started
