"""Fixtures of the preflight tests: the bench over a fresh emulator, and a clean process cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from preflight_bench import PreflightBench

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.preflight import DEFAULT_CACHE


@pytest.fixture
def bench(emulator: Emulator) -> PreflightBench:
    return PreflightBench(emulator)


@pytest.fixture
def clean_default_cache() -> Iterator[None]:
    DEFAULT_CACHE.clear()
    yield
    DEFAULT_CACHE.clear()
