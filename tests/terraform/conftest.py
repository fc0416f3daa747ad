"""Fixtures for the Terraform front's unit tests: an emulator with a workspace, a configured provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tf_helpers import API_SCOPES, TerraformSim, configured_provider

from sg_bitbucket_iac.bitbucket import DEFAULT_CACHE
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

SETTINGS_ENV = ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI", "SG_ORG",
                "STACKGUARDIAN_ORG_NAME", "BITBUCKET_API_URL", "SG_BITBUCKET_IAC_PREFLIGHT")
CLOCK = "2026-01-15T00:00:00Z"


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings come only from what a test passes; the product clock is fixed; no cached preflight."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", CLOCK)
    DEFAULT_CACHE.clear()
    yield
    DEFAULT_CACHE.clear()


@pytest.fixture
def workspace(emulator: Emulator) -> Emulator:
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PLAT"}],
                                                     "repositories": [{"slug": "infra", "project": "PLAT"}]})
    return emulator


@pytest.fixture
def tokens(workspace: Emulator, sentinel: str) -> dict[str, str]:
    """Credentials the emulated Bitbucket accepts: two API tokens and a repository access token."""
    tokens = {"api": sentinel, "api2": sentinel + "-rotated", "access": sentinel + "-access"}
    for secret in (tokens["api"], tokens["api2"]):
        workspace.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
            "scopes": API_SCOPES, "workspaces": ["acme"]})
    workspace.admin("POST", "/bitbucket/credentials", {
        "kind": "access_token", "secret": tokens["access"], "scopes": ["repository", "pullrequest"],
        "workspaces": ["acme"], "resource": "acme/infra"})
    return tokens


@pytest.fixture
def provider(workspace: Emulator) -> SGBitbucketProvider:
    return configured_provider(workspace)


@pytest.fixture
def sim(provider: SGBitbucketProvider) -> Iterator[TerraformSim]:
    yield TerraformSim(ConnectorResource(provider))
    if provider.engine is not None:
        provider.engine.client.close()
