"""A hint about a bad key or URL names where the value came from (issue 22, part 5).

The settings remember each value's source: the front's own name for an explicit value (the CLI's
flag, Terraform's provider argument, Pulumi's stack config key) or the environment variable that
was read. The CLI's cases are in tests/cli/test_cli_surprises.py; here the settings themselves,
the StackGuardian client's hints, and both providers.
"""

from __future__ import annotations

import socket

import pytest
from tf.utils import Diagnostics

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import AuthenticationError, ConfigurationError, ConnectionRefused
from sg_bitbucket_iac.pulumi import BitbucketConnectorError
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider
from sg_bitbucket_iac.wording import CLI_WORDING, PULUMI_WORDING, TERRAFORM_WORDING


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_each_value_remembers_its_source() -> None:
    settings = Settings.resolve(api_url="https://sg.example.com", environ={
        "STACKGUARDIAN_API_KEY": "key-from-env", "SG_ORG": "acme"}, names=CLI_WORDING.setting_names)
    assert settings.sources == {"api_url": "--api-url", "api_key": "STACKGUARDIAN_API_KEY", "org": "SG_ORG"}
    assert settings.source_of("bitbucket_api_url") == "BITBUCKET_API_URL"  # a default: where to set it
    assert settings.source_of("api_key") == "STACKGUARDIAN_API_KEY"
    # Sources do not make two settings differ.
    assert settings == Settings.resolve(api_url="https://sg.example.com", api_key="key-from-env", org="acme",
                                        environ={})


@pytest.mark.parametrize(("names", "explicit", "env", "named"), [
    (CLI_WORDING.setting_names, {"api_url": "http://sg.example.com"}, {}, "--api-url=http://sg.example.com"),
    (TERRAFORM_WORDING.setting_names, {"api_url": "http://sg.example.com"}, {}, "api_uri=http://sg.example.com"),
    (PULUMI_WORDING.setting_names, {"api_url": "http://sg.example.com"}, {},
     "stackguardian:apiUrl=http://sg.example.com"),
    (PULUMI_WORDING.setting_names, {}, {"STACKGUARDIAN_API_URI": "http://sg.example.com"},
     "STACKGUARDIAN_API_URI=http://sg.example.com"),
    (TERRAFORM_WORDING.setting_names, {}, {"BITBUCKET_API_URL": "ftp://bb"}, "BITBUCKET_API_URL=ftp://bb"),
    (TERRAFORM_WORDING.setting_names, {"api_key": "bad\x1bkey"}, {}, "api_key contains control characters"),
    (PULUMI_WORDING.setting_names, {}, {"SG_API_TOKEN": "bad\x1bkey"}, "SG_API_TOKEN contains control characters"),
])
def test_a_refused_value_names_its_source(names: dict[str, str], explicit: dict[str, str], env: dict[str, str],
                                          named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(**explicit, environ=env, names=names)  # type: ignore[arg-type]
    assert named in str(caught.value)


def test_the_clients_hints_name_where_the_key_and_url_came_from(emulator: Emulator) -> None:
    settings = Settings.resolve(api_key="wrong-key", api_url=emulator.stackguardian_url, org="acme", environ={},
                                names=TERRAFORM_WORDING.setting_names)
    with pytest.raises(AuthenticationError) as rejected:
        list(StackGuardianClient.from_settings(settings).list_all())
    assert rejected.value.hint == "the StackGuardian API key is missing, invalid or expired; set a valid one in api_key"
    nowhere = Settings.resolve(api_key="k", org="acme", environ={"SG_BASE_URL": f"http://127.0.0.1:{closed_port()}"})
    with pytest.raises(ConnectionRefused) as refused:
        list(StackGuardianClient.from_settings(nowhere, retries=0).list_all())
    assert "check the host and port of the API URL (SG_BASE_URL)" in str(refused.value)


def test_terraform_names_its_provider_arguments_and_the_environment(emulator: Emulator) -> None:
    provider = SGBitbucketProvider(environ={"STACKGUARDIAN_API_KEY": "wrong-key"})
    diags = Diagnostics()
    provider.configure_provider(diags, {"org_name": "acme", "api_uri": emulator.stackguardian_url})
    assert provider.engine is not None and not diags.has_errors()
    with pytest.raises(AuthenticationError) as caught:
        list(provider.engine.client.list_all())
    assert "set a valid one in STACKGUARDIAN_API_KEY" in str(caught.value)
    from_argument = SGBitbucketProvider(environ={})
    diags = Diagnostics()
    from_argument.configure_provider(diags, {"org_name": "acme", "api_key": "k", "api_uri": "http://sg.example.com"})
    assert "api_uri=http://sg.example.com" in str(diags)


def test_pulumi_names_its_stack_config(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi.dynamic import Config, ConfigureRequest

    from sg_bitbucket_iac.pulumi.provider import BitbucketConnectorProvider

    for name in ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI"):
        monkeypatch.delenv(name, raising=False)
    provider = BitbucketConnectorProvider()
    provider.configure(ConfigureRequest(Config({
        "stackguardian:apiKey": "wrong-key", "stackguardian:apiUrl": emulator.stackguardian_url,
        "stackguardian:org": "acme"}, "sg-test")))
    with pytest.raises(BitbucketConnectorError) as caught:
        provider.read("bitbucket_main", {"org": "acme", "connector_id": "bitbucket_main"})
    assert "set a valid one in stackguardian:apiKey" in str(caught.value)
