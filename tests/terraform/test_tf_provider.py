"""Provider configuration, schemas, the create-planning servicer, the data source, import isolation."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.iface import ReadDataContext
from tf.types import Unknown
from tf.utils import Diagnostics, read_dynamic_value, to_dynamic_value
from tf_helpers import API_KEY, ORG, TYPE, TerraformSim, access_token_config, api_token_config, config

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform import PROVIDER_SOURCE
from sg_bitbucket_iac.terraform.connector_data_source import ConnectorDataSource
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider
from sg_bitbucket_iac.terraform.servicer import SGBitbucketServicer


def test_names_and_schemas() -> None:
    provider = SGBitbucketProvider(environ={})
    assert provider.full_name() == PROVIDER_SOURCE == "registry.terraform.io/stackguardian/sgbitbucket"
    assert provider.get_model_prefix() + ConnectorResource.get_name() == TYPE
    assert provider.get_model_prefix() + ConnectorDataSource.get_name() == TYPE
    provider_attrs = {a.name: a for a in provider.get_provider_schema(Diagnostics()).attributes}
    assert set(provider_attrs) == {"api_key", "api_uri", "org_name", "bitbucket_api_url", "preflight"}
    assert [n for n, a in provider_attrs.items() if a.sensitive] == ["api_key"]
    assert all(a.optional and not a.required for a in provider_attrs.values())
    resource = {a.name: a for a in ConnectorResource.get_schema().attributes}
    assert {n for n, a in resource.items() if a.sensitive} == {"api_token", "access_token", "app_password"}
    assert {n for n, a in resource.items() if a.required} == {"name", "workspace", "auth_type"}
    assert {n for n, a in resource.items() if a.computed and not a.optional} == {
        "id", "authenticated", "modified_at", "credentials_fingerprint", "owner", "org"}
    assert ConnectorResource.get_schema().version == 1
    assert {n for n, a in resource.items() if a.requires_replace} == {"connector_id", "org"}
    data_source = {a.name: a for a in ConnectorDataSource.get_schema().attributes}
    assert not {"api_token", "access_token", "app_password", "credentials_fingerprint", "owner"} & set(data_source)
    assert not any(a.sensitive for a in data_source.values())
    ConnectorResource.get_schema().to_pb()  # serialisable as Terraform receives it
    ConnectorDataSource.get_schema().to_pb()


def test_configure_falls_back_to_the_environment(emulator: Emulator) -> None:
    provider = SGBitbucketProvider(environ={
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_ORG_NAME": ORG,
        "STACKGUARDIAN_API_URI": emulator.stackguardian_url, "BITBUCKET_API_URL": emulator.bitbucket_url})
    diags = Diagnostics()
    provider.configure_provider(diags, dict.fromkeys(["api_key", "api_uri", "org_name", "bitbucket_api_url",
                                                      "preflight"]))
    assert not diags.diagnostics and provider.engine is not None
    assert provider.engine.org == ORG and provider.engine.settings.preflight is True
    assert provider.engine.settings.bitbucket_api_url == emulator.bitbucket_url
    # Explicit values win over the environment; SG_* names come first among env names (Settings' rule).
    provider = SGBitbucketProvider(environ={"SG_ORG": "first", "STACKGUARDIAN_ORG_NAME": "second",
                                            "SG_API_TOKEN": "k"})
    provider.configure_provider(diags, {"preflight": False})
    assert provider.engine is not None and provider.engine.org == "first"
    assert provider.engine.settings.preflight is False
    provider.configure_provider(diags, {"org_name": "explicit"})
    assert provider.engine.org == "explicit"


def test_missing_settings_are_errors_on_their_attribute() -> None:
    provider = SGBitbucketProvider(environ={})
    diags = Diagnostics()
    provider.configure_provider(diags, {})
    assert sorted(tuple(d.path or ()) for d in diags.diagnostics) == [("api_key",), ("org_name",)]
    assert provider.engine is None
    assert provider.require_engine(Diagnostics()) is None


def test_plain_http_to_a_remote_host_is_refused_at_validate() -> None:
    diags = Diagnostics()
    SGBitbucketProvider(environ={}).validate_config(diags, {"api_uri": "http://api.example.com"})
    assert [d.path for d in diags.diagnostics] == [["api_uri"]]
    diags = Diagnostics()
    SGBitbucketProvider(environ={}).validate_config(diags, {"api_uri": "http://127.0.0.1:8080"})
    assert not diags.diagnostics


def test_unknown_provider_config_defers_backend_checks() -> None:
    provider = SGBitbucketProvider(environ={})
    diags = Diagnostics()
    provider.configure_provider(diags, {"api_key": Unknown, "org_name": ORG})
    assert not diags.has_errors() and diags.has_warnings() and provider.engine is None
    sim = TerraformSim(ConnectorResource(provider))
    planned, diags, _ = sim.plan(None, api_token_config("a-token-value-long-enough"))
    assert not diags.has_errors()
    assert planned["id"] == "bitbucket_main" and planned["credentials_fingerprint"] is Unknown


def test_servicer_plans_creates_through_the_resource(provider: SGBitbucketProvider, sentinel: str) -> None:
    servicer = SGBitbucketServicer(provider)
    request = pb.PlanResourceChange.Request(
        type_name=TYPE,
        prior_state=to_dynamic_value(None),
        proposed_new_state=to_dynamic_value(api_token_config(sentinel, tags=["a"])),
        config=to_dynamic_value(api_token_config(sentinel, tags=["a"])),
    )
    response = servicer.PlanResourceChange(request, None)
    assert not list(response.diagnostics)
    planned = read_dynamic_value(response.planned_state)
    assert planned["id"] == planned["connector_id"] == "bitbucket_main"
    assert planned["credentials_fingerprint"].startswith("scrypt1:")
    assert planned["authenticated"] is Unknown and planned["tags"] == ["a"]
    # A config error found while planning comes back as a diagnostic with its attribute path.
    bad = access_token_config(sentinel, username="alice")
    request = pb.PlanResourceChange.Request(type_name=TYPE, prior_state=to_dynamic_value(None),
                                            proposed_new_state=to_dynamic_value(bad), config=to_dynamic_value(bad))
    (diagnostic,) = servicer.PlanResourceChange(request, None).diagnostics
    assert diagnostic.attribute.steps[0].attribute_name == "username"
    assert sentinel not in str(diagnostic)


def test_tf_runner_still_builds_the_servicer_we_replace() -> None:
    """main() swaps tf.provider.ProviderServicer; this breaks loudly if a tf upgrade stops looking it up there."""
    from tf import runner

    assert "from tf.provider import ProviderServicer" in inspect.getsource(runner.run_provider)


def test_main_installs_the_servicer(monkeypatch: pytest.MonkeyPatch) -> None:
    import tf.provider
    import tf.runner

    from sg_bitbucket_iac.terraform import main as entry

    seen: dict[str, Any] = {}
    monkeypatch.setattr(tf.provider, "ProviderServicer", tf.provider.ProviderServicer)
    monkeypatch.setattr(tf.runner, "run_provider",
                        lambda provider, argv: seen.update(provider=provider, argv=argv,
                                                           servicer=tf.provider.ProviderServicer))
    entry.main(["terraform-provider-sgbitbucket"])
    assert isinstance(seen["provider"], SGBitbucketProvider) and seen["servicer"] is SGBitbucketServicer


def test_unwritable_home_falls_back_for_the_cert_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from sg_bitbucket_iac.terraform import main as entry

    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("HOME", str(blocker))
    entry._ensure_cert_cache_dir()
    home = os.environ["HOME"]
    try:
        assert home != str(blocker) and os.path.isdir(home) and os.access(home, os.W_OK)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_package_and_the_cli_do_not_import_tf() -> None:
    code = (
        "import sys, importlib\n"
        "import sg_bitbucket_iac.terraform\n"
        "try:\n    importlib.import_module('sg_bitbucket_iac.cli.main')\nexcept ImportError:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m == 'tf' or m.startswith(('tf.', 'grpc')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- data source
def _read(provider: SGBitbucketProvider, **values: Any) -> tuple[dict[str, Any] | None, Diagnostics]:
    data_source = ConnectorDataSource(provider)
    diags = Diagnostics()
    cfg = {a.name: None for a in ConnectorDataSource.get_schema().attributes}
    cfg.update(values)
    data_source.validate(diags, TYPE, cfg)
    if diags.has_errors():
        return None, diags
    return data_source.read(ReadDataContext(diags, TYPE), cfg), diags


def test_data_source_by_id_and_by_name_returns_non_secret_attributes(provider: SGBitbucketProvider,
                                                                     sim: TerraformSim, sentinel: str) -> None:
    sim.plan_and_apply(None, access_token_config(sentinel, tags=["platform"]))
    sim.plan_and_apply(None, api_token_config(sentinel + "-2", name="other one"))
    by_id, diags = _read(provider, connector_id="bitbucket_main")
    assert by_id is not None and not diags.diagnostics
    by_name, _ = _read(provider, name="bitbucket-main")
    assert by_name == by_id
    assert by_id["auth_type"] == "access_token" and by_id["repository"] == "infra"
    assert by_id["tags"] == ["platform"] and by_id["workspace"] == "acme"
    assert set(by_id) == {a.name for a in ConnectorDataSource.get_schema().attributes}
    assert sentinel not in repr(by_id)


def test_data_source_errors(provider: SGBitbucketProvider) -> None:
    assert "exactly one" in str(_read(provider)[1])
    assert "exactly one" in str(_read(provider, connector_id="a", name="b")[1])
    state, diags = _read(provider, name="missing")
    assert state is None and [d.path for d in diags.diagnostics] == [["name"]]
    state, diags = _read(provider, connector_id="missing")
    assert state is None and [d.path for d in diags.diagnostics] == [["connector_id"]]


def test_every_attribute_round_trips_through_config_helper() -> None:
    assert set(config()) == {a.name for a in ConnectorResource.get_schema().attributes}
