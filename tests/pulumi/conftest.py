"""Fixtures for the Pulumi front: a seeded Bitbucket workspace, credentials, and a configured provider."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi")

from pulumi_helpers import API_SCOPES, configured

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None) -> None:
    """Pulumi tests: settings only from the stack config they pass."""


@pytest.fixture
def tokens(emulator: Emulator, sentinel: str) -> dict[str, str]:
    """Workspace `acme` (project PLAT, repository infra) and credentials: good, rotated, access, weak."""
    emulator.admin(
        "POST",
        "/bitbucket/workspaces",
        {"slug": "acme", "projects": [{"key": "PLAT"}], "repositories": [{"slug": "infra", "project": "PLAT"}]},
    )
    found = {"api": sentinel, "api2": sentinel + "-rotated", "access": sentinel + "-access", "weak": sentinel + "-weak"}
    for secret in (found["api"], found["api2"]):
        emulator.admin(
            "POST",
            "/bitbucket/credentials",
            {
                "kind": "api_token",
                "secret": secret,
                "email": "alice@acme.io",
                "username": "alice",
                "scopes": API_SCOPES,
                "workspaces": ["acme"],
            },
        )
    emulator.admin(
        "POST",
        "/bitbucket/credentials",
        {
            "kind": "access_token",
            "secret": found["access"],
            "scopes": ["repository", "pullrequest", "project"],
            "workspaces": ["acme"],
            "resource": "acme",
        },
    )
    emulator.admin(
        "POST",
        "/bitbucket/credentials",
        {
            "kind": "api_token",
            "secret": found["weak"],
            "email": "alice@acme.io",
            "username": "alice",
            "scopes": ["read:user:bitbucket"],
            "workspaces": ["acme"],
        },
    )
    return found


@pytest.fixture
def provider(emulator: Emulator) -> BitbucketConnectorProvider:
    return configured(emulator)
