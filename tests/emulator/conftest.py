"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emu_helpers import SG

from sg_bitbucket_iac.emulator import Emulator


@pytest.fixture
def sg(emulator: Emulator) -> Iterator[SG]:
    client = SG(emulator)
    yield client
    client.session.close()
