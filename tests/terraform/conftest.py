"""Fixtures for the Terraform front's unit tests: an emulator with a workspace, a configured provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seeding import seed_api_token, seed_credential, seed_workspace
from tf_helpers import TerraformSim, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> None:
    """Terraform tests: settings only from the provider config they pass; replacement notes in a temp folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def workspace(emulator: Emulator) -> Emulator:
    seed_workspace(emulator)
    return emulator


@pytest.fixture
def tokens(workspace: Emulator, sentinel: str) -> dict[str, str]:
    """Credentials the emulated Bitbucket accepts: two API tokens and a repository access token."""
    tokens = {"api": sentinel, "api2": sentinel + "-rotated", "access": sentinel + "-access"}
    for secret in (tokens["api"], tokens["api2"]):
        seed_api_token(workspace, secret)
    seed_credential(workspace, "access_token", tokens["access"], scopes=["repository", "pullrequest"],
                    workspaces=["acme"], resource="acme/infra")
    return tokens


@pytest.fixture
def provider(workspace: Emulator) -> SGBitbucketProvider:
    return configured_provider(workspace)


@pytest.fixture
def sim(provider: SGBitbucketProvider) -> Iterator[TerraformSim]:
    yield TerraformSim(ConnectorResource(provider))
    if provider.engine is not None:
        provider.engine.client.close()
