"""Credentials made exactly as StackGuardian's guide says, created with preflight on by the real engines.

One connector per kind and level of the guide's table (tests/guide_credentials.py): an API token, a
repository, a project and a workspace access token, and an app password, each holding exactly the
guide's scopes. On every Terraform-protocol engine (the e2e `engine` fixture, tests/e2e/conftest.py)
and under the real Pulumi CLI: a plan or preview with a credential that lacks one scope of its row
fails, naming it in the guide's words; the five are then created in one apply or up (Bitbucket is
asked first: preflight is on, its default), and destroyed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tf_harness
from engines import require_engine
from guide_credentials import APP_PASSWORDS_STILL_WORK, GUIDE, GuideCredential
from seeding import seed_workspace
from tf_harness import Engine, Terraform, record, unmasked_secrets

from sg_bitbucket_iac.emulator import Emulator

pytestmark = pytest.mark.e2e

ORG = "acme"
API_KEY = "sgo_guide_key"
PROJECT = "PLAT"
# The credential made short of its row: a workspace access token without the guide's Account: Read.
SHORT = next(g for g in GUIDE if g.level == "workspace")
SHORT_MESSAGE = "lacks Account: Read (account)"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """Org acme; workspace acme with project PLAT holding repository infra (each test seeds its credentials).
    One per module: every engine (the e2e `engine` fixture) and Pulumi name their connectors apart."""
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        seed_workspace(emulator, project=PROJECT)
        yield emulator


def guide_secrets(emulator: Emulator, sentinel: str, tag: str) -> dict[str, str]:
    """A credential per row of the guide, with exactly its scopes, and one short of its row (key `short`)."""
    emulator.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})  # Bitbucket still accepts app passwords
    made = {guide.id: f"{sentinel}-{tag}-{guide.id}" for guide in GUIDE}
    for guide in GUIDE:
        guide.seed(emulator, made[guide.id], project=PROJECT)
    made["short"] = f"{sentinel}-{tag}-short"
    SHORT.seed(emulator, made["short"], [s for s in SHORT.scopes if s != "account"], project=PROJECT)
    return made


def stored_auth_type(emulator: Emulator, connector_id: str) -> str:
    found = record(emulator, connector_id)
    assert found is not None, connector_id
    return str(found["Settings"]["config"][0]["bitbucketAuthType"])


def named(emulator: Emulator, prefix: str) -> list[str]:
    """The Ids of the org's connectors whose name starts with ``prefix`` (each test names its own so)."""
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    return sorted(str(r["Id"]) for r in records if str(r["ResourceName"]).startswith(prefix + "-"))


# --------------------------------------------------------------------------- Terraform, on every engine
def variable_name(key: str) -> str:
    return "tok_" + re.sub(r"[^a-z0-9]", "_", key.lower())


def hcl_resource(address: str, name: str, guide: GuideCredential, variable: str) -> str:
    fields = guide.flat_fields("", PROJECT)
    lines = [f'  {key} = "{value}"' for key, value in fields.items() if key != guide.secret_field]
    return (f'resource "sgbitbucket_connector" "{address}" {{\n  name      = "{name}"\n  workspace = "acme"\n'
            + "\n".join(lines) + f"\n  {guide.secret_field} = var.{variable}\n}}\n")


def terraform_config(emulator: Emulator, prefix: str, keys: list[str], short: bool) -> str:
    text = tf_harness.provider_block(ORG, emulator.bitbucket_url)
    for key in [*keys, "short"]:
        text += f'\nvariable "{variable_name(key)}" {{\n  type      = string\n  sensitive = true\n}}\n'
    for guide in GUIDE:
        text += hcl_resource(variable_name(guide.id), f"{prefix}-{guide.id}", guide, variable_name(guide.id))
    if short:
        text += hcl_resource("short", f"{prefix}-short", SHORT, variable_name("short"))
    return text


def test_terraform_creates_a_connector_per_guide_credential_with_preflight_on(
    engine: Engine, mirror_config: str, emu: Emulator, sentinel: str, tmp_path: Path,
) -> None:
    assert engine.binary is not None
    prefix = "tf-" + re.sub(r"[^a-z0-9]", "", engine.id)
    made = guide_secrets(emu, sentinel, prefix)
    tf = Terraform.create(engine.binary, tmp_path, {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url,
        "SG_BITBUCKET_IAC_NOW": APP_PASSWORDS_STILL_WORK,
    }, mirror_config=mirror_config)
    env = {f"TF_VAR_{variable_name(key)}": value for key, value in made.items()}
    env["TF_VAR_token"] = "unused"  # the harness's provider block declares `token`
    keys = [guide.id for guide in GUIDE]
    tf.write("main.tf", terraform_config(emu, prefix, keys, short=True))
    tf.run("init")

    # The plan asks Bitbucket (preflight is on): the short credential fails it, named in the guide's words.
    failed = tf.run("plan", env=env, expect=1)
    assert SHORT_MESSAGE in " ".join(failed.output.split()), failed.output
    assert named(emu, prefix) == []

    # Without it, one apply creates every connector of the guide, each checked against Bitbucket first.
    tf.write("main.tf", terraform_config(emu, prefix, keys, short=False))
    tf.run("apply", "-auto-approve", env=env)
    state = tf.run("show", "-json").json()
    values = {r["name"]: r["values"] for r in state["values"]["root_module"]["resources"]}
    for guide in GUIDE:
        created = values[variable_name(guide.id)]
        assert created["authenticated"] is True, guide.name
        assert stored_auth_type(emu, created["id"]) == guide.kind.upper()
    assert len(named(emu, prefix)) == len(GUIDE)
    tf.run("destroy", "-auto-approve", env=env)
    assert named(emu, prefix) == []
    for output in tf.human_output():
        assert sentinel not in output
    for secret in made.values():
        assert unmasked_secrets(state, secret) == []


# --------------------------------------------------------------------------- Pulumi, under the real CLI
@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    from pulumi_harness import SHIM

    binary = require_engine("pulumi", "the Pulumi e2e tier runs the real CLI")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    return binary


def pulumi_program(made: dict[str, str], prefix: str, short: bool) -> Callable[[], None]:
    import pulumi

    from sg_bitbucket_iac.pulumi import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector

    classes: dict[str, Any] = {"api_token": ApiTokenAuth, "access_token": AccessTokenAuth,
                               "app_password": AppPasswordAuth}
    keys = [guide.id for guide in GUIDE]

    def connector(resource: str, guide: GuideCredential, key: str) -> None:
        secret = pulumi.Config().require_secret(f"token_{keys.index(key) if key in keys else 'short'}")
        fields = guide.auth_fields("", PROJECT)
        auth_type = fields.pop("type")
        fields[guide.secret_field] = secret
        BitbucketConnector(resource, name=f"{prefix}-{guide.id}" if key in keys else f"{prefix}-short",
                           workspace="acme", auth=classes[auth_type](**fields))

    def program() -> None:
        for guide in GUIDE:
            connector(guide.id, guide, guide.id)
        if short:
            connector("short", SHORT, "short")

    return program


def test_pulumi_creates_a_connector_per_guide_credential_with_preflight_on(
    emu: Emulator, sentinel: str, pulumi_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pulumi import automation as auto
    from pulumi_harness import PulumiProject

    for name in tf_harness.SETTINGS_ENV:  # settings only from stack config
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", APP_PASSWORDS_STILL_WORK)  # the provider process inherits it
    prefix = "pulumi"
    made = guide_secrets(emu, sentinel, prefix)
    config = {
        "stackguardian:apiKey": auto.ConfigValue(API_KEY, secret=True),
        "stackguardian:org": auto.ConfigValue(ORG),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
    }
    for index, guide in enumerate(GUIDE):
        config[f"token_{index}"] = auto.ConfigValue(made[guide.id], secret=True)
    config["token_short"] = auto.ConfigValue(made["short"], secret=True)
    project = PulumiProject.create(pulumi_cli, tmp_path, project="sg-guide", config=config)

    failed = project.failing("preview", pulumi_program(made, prefix, short=True))
    assert SHORT_MESSAGE in " ".join((failed.stdout + failed.stderr).split())
    assert named(emu, prefix) == []

    run, up = project.up(pulumi_program(made, prefix, short=False))
    assert up.summary.resource_changes == {"create": len(GUIDE) + 1}, run.stdout  # and the stack
    state = project.resources()
    for guide in GUIDE:
        outputs = state[guide.id]["outputs"]
        assert outputs["authenticated"] is True, guide.name
        assert stored_auth_type(emu, outputs["connector_id"]) == guide.kind.upper()
    assert len(named(emu, prefix)) == len(GUIDE)
    project.destroy()
    assert named(emu, prefix) == []
    for text in project.printed():
        assert sentinel not in text
