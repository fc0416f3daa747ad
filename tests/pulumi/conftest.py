"""Fixtures for the Pulumi front: a seeded Bitbucket workspace, credentials, and a configured provider."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi")

from pulumi_helpers import configured
from seeding import seed_api_token, seed_credential, seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None) -> None:
    """Pulumi tests: settings only from the stack config they pass."""


@pytest.fixture
def tokens(emulator: Emulator, sentinel: str) -> dict[str, str]:
    """Workspace `acme` (project PLAT, repository infra) and credentials: good, rotated, access, weak."""
    seed_workspace(emulator)
    found = {"api": sentinel, "api2": sentinel + "-rotated", "access": sentinel + "-access", "weak": sentinel + "-weak"}
    for secret in (found["api"], found["api2"]):
        seed_api_token(emulator, secret)
    seed_credential(emulator, "access_token", found["access"], workspaces=["acme"], resource="acme",
                    scopes=["repository", "pullrequest", "project", "account"])
    seed_api_token(emulator, found["weak"], scopes=["read:user:bitbucket"])
    return found


@pytest.fixture
def provider(emulator: Emulator) -> BitbucketConnectorProvider:
    return configured(emulator)
