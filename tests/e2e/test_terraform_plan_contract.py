"""Issue 20 on every engine of the matrix (Terraform 1.0.3, the machine's Terraform, OpenTofu), installed
from the mirror as users install it. One working directory per engine runs, in order:

1. import, validate, plan (with `import {}` blocks and `-generate-config-out` where the engine has
   them, and one plan that fails), refresh: StackGuardian sees only GETs; the plan shows `owner`
   moving to terraform as an in-place update, and the apply moves it;
2. a new `connector_id`, delete-first and then with `create_before_destroy`: no name clash with the
   connector being replaced;
3. a record with fields of the wrong type: refresh and plan go on (a warning names the fields), the
   apply re-sends the declaration and repairs the record;
4. `destroy` with connectors in the configuration that do not exist yet and that every check meant
   for creating refuses (a token without scopes, a name in use, an app password after 2026-06-09).

One emulator for the module; the engines use distinct names on it.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tf_harness
from seeding import API_TOKEN_SCOPES
from tf_harness import Engine, Terraform, record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import MANAGED_TAG, OWNER_TAG

ORG = "acme"
API_KEY = "sgo_plan_contract_key"
CLOCK = "2026-01-15T00:00:00Z"
AFTER_CUTOFF = "2026-06-10T00:00:00Z"
RECORDS = f"/stackguardian/orgs/{ORG}/integrations"


@pytest.fixture(scope="module")
def token() -> str:
    return "SENTINEL-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def emu(token: str) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        emulator.admin("POST", "/clock", {"now": CLOCK})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "repositories": [{"slug": "infra"}]})
        for secret, scopes in ((token, API_TOKEN_SCOPES), (token + "-weak", API_TOKEN_SCOPES[:1])):
            emulator.admin("POST", "/bitbucket/credentials", {
                "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
                "scopes": scopes, "workspaces": ["acme"]})
        yield emulator


def seed(emu: Emulator, connector_id: str, token: str, tags: dict[str, str]) -> None:
    """A connector another front (or a person) made."""
    emu.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": connector_id, "Description": "", "Tags": [], "ContextTags": tags,
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


def resource(name: str, connector_name: str, extra: str = "", token: str = "var.token") -> str:
    return f'''
resource "sgbitbucket_connector" "{name}" {{
  name      = "{connector_name}"
  workspace = "acme"
  auth_type = "api_token"
  username  = "alice"
  email     = "alice@acme.io"
  api_token = {token}
{extra}}}
'''


def import_block(name: str, connector_id: str) -> str:
    return f'\nimport {{\n  to = sgbitbucket_connector.{name}\n  id = "{connector_id}"\n}}\n'


class Counted:
    """The StackGuardian requests of one step, by verb."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        emu.admin("DELETE", "/stats")

    def verbs(self) -> set[str]:
        return set(self.emu.admin("GET", "/stats")["stackguardian"]["by_method"])


def said(text: str) -> str:
    """What an engine printed, with its line wrapping undone."""
    return " ".join(text.split())


def planned_changes(tf: Terraform, env: dict[str, str], plan_file: str = "plan.bin") -> dict[str, dict[str, Any]]:
    return {c["address"]: c["change"] for c in tf.show_plan(plan_file).get("resource_changes") or []}


@pytest.mark.e2e
def test_the_plan_contract_on_the_engine(engine: Engine, emu: Emulator, token: str, mirror_config: str,
                                         tmp_path: Path) -> None:
    assert engine.binary is not None
    started = time.monotonic()
    p = re.sub(r"[^a-z0-9]", "", engine.id)
    tf = Terraform.create(engine.binary, tmp_path, {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url,
        "SG_BITBUCKET_IAC_NOW": CLOCK}, mirror_config=mirror_config)
    env = {"TF_VAR_token": token}
    base = tf_harness.provider_block(ORG, emu.bitbucket_url)
    data_source = f'\ndata "sgbitbucket_connector" "seen" {{\n  connector_id = "{p}_cli"\n}}\n'
    seed(emu, f"{p}_cli", token, {OWNER_TAG: "cli", MANAGED_TAG: "true", "sg-bitbucket-iac/workspace": "acme"})
    seed(emu, f"{p}_pulumi", token, {OWNER_TAG: "pulumi"})
    def moved(connector_id: str, lifecycle: str = "") -> str:
        return resource("moved", f"{p}-moved", f'  connector_id = "{connector_id}"\n{lifecycle}')

    owned = resource("cli_made", f"{p}_cli") + data_source + moved(f"{p}_v1")
    tf.write("main.tf", base + owned)
    tf.run("init")

    # 1. Every planning step reads only; the owner moves at apply.
    counted = Counted(emu)
    tf.run("validate", env=env)
    imported = tf.run("import", "sgbitbucket_connector.cli_made", f"{p}_cli", env=env)
    assert "the next apply makes terraform its owner" in said(imported.output)
    config = base + owned
    if engine.import_blocks:
        tf.write("main.tf", config + import_block("pulumi_made", f"{p}_pulumi"))
        tf.run("plan", "-generate-config-out=generated.tf", env=env, expect=(0, 1))
        generated = (tf.workdir / "generated.tf").read_text()
        assert f'"{p}_pulumi"' in generated and token not in generated
        (tf.workdir / "generated.tf").unlink()
        config += import_block("pulumi_made", f"{p}_pulumi") + resource("pulumi_made", f"{p}_pulumi")
        # A plan that fails (a token without scopes) with an import in it writes nothing either.
        tf.write("main.tf", config + resource("weak", f"{p}-weak", token='"${var.token}-weak"'))
        failed = tf.run("plan", env=env, expect=1)
        assert "Credential preflight failed" in said(failed.stderr)
    tf.write("main.tf", config)
    tf.run("plan", "-refresh-only", env=env, expect=(0, 2))
    tf.run("refresh", env=env)
    tf.run("plan", "-out=plan.bin", env=env)
    assert counted.verbs() == {"GET"}, engine.id
    assert record(emu, f"{p}_cli")["ContextTags"][OWNER_TAG] == "cli"  # type: ignore[index]
    changes = planned_changes(tf, env)
    moving = ["sgbitbucket_connector.cli_made"] + (["sgbitbucket_connector.pulumi_made"] if engine.import_blocks
                                                   else [])
    for address in moving:
        assert changes[address]["actions"] == ["update"], (address, changes[address])
        assert (changes[address]["before"]["owner"], changes[address]["after"]["owner"]) in (
            ("cli", "terraform"), ("pulumi", "terraform"))
    assert changes["sgbitbucket_connector.moved"]["actions"] == ["create"]
    tf.run("apply", "plan.bin", env=env)
    cli_tags = record(emu, f"{p}_cli")["ContextTags"]  # type: ignore[index]
    assert cli_tags[OWNER_TAG] == "terraform" and MANAGED_TAG not in cli_tags
    if engine.import_blocks:
        assert record(emu, f"{p}_pulumi")["ContextTags"][OWNER_TAG] == "terraform"  # type: ignore[index]

    # 2. A new connector_id: delete first, then create_before_destroy; never a clash with itself.
    config = config.replace(moved(f"{p}_v1"), "")
    tf.write("main.tf", config + moved(f"{p}_v2"))
    tf.run("apply", "-auto-approve", env=env)
    assert record(emu, f"{p}_v1") is None and record(emu, f"{p}_v2") is not None
    cbd = "  lifecycle {\n    create_before_destroy = true\n  }\n"
    config += moved(f"{p}_v3", cbd)
    tf.write("main.tf", config)
    replaced = said(tf.run("apply", "-auto-approve", env=env).stdout)
    assert replaced.index("sgbitbucket_connector.moved: Creating...") < replaced.index(
        "sgbitbucket_connector.moved (deposed object"), replaced  # the new one first, while the old holds the name
    assert record(emu, f"{p}_v2") is None and record(emu, f"{p}_v3") is not None

    # 3. One odd record: refresh and plan go on, the apply repairs it.
    stored = record(emu, f"{p}_cli")
    assert stored is not None
    emu.admin("PATCH", f"{RECORDS}/{p}_cli", {
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{**stored["Settings"]["config"][0], "bitbucketEmail": 123}]},
        "Authentication": {"authenticated": True, "authenticatedAt": 1e20}})
    counted = Counted(emu)
    refreshed = tf.run("plan", "-refresh-only", env=env, expect=(0, 2))
    for finding in ("Settings.config[0].bitbucketEmail is a number", "Authentication.authenticatedAt is 1e+20"):
        assert finding in said(refreshed.output), refreshed.output
    emu.admin("PATCH", f"{RECORDS}/{p}_cli", {"Authentication": None})  # StackGuardian's own field: recomputed
    tf.run("plan", "-out=plan.bin", env=env)
    assert counted.verbs() == {"GET"}
    assert planned_changes(tf, env)["sgbitbucket_connector.cli_made"]["actions"] == ["update"]
    tf.run("apply", "plan.bin", env=env)
    assert record(emu, f"{p}_cli")["Settings"]["config"][0]["bitbucketEmail"] == "alice@acme.io"  # type: ignore[index]
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)

    # 4. Destroy with connectors that do not exist yet and that every create check refuses.
    seed(emu, f"{p}-taken", token, {})
    blocked = (resource("weak", f"{p}-weak", token='"${var.token}-weak"') + resource("taken", f"{p}-taken")
               + f'''
resource "sgbitbucket_connector" "legacy" {{
  name         = "{p}-legacy"
  workspace    = "acme"
  auth_type    = "app_password"
  username     = "alice"
  app_password = var.token
}}
''')
    tf.write("main.tf", config + blocked)
    late = {**env, "SG_BITBUCKET_IAC_NOW": AFTER_CUTOFF}
    refused = tf.run("plan", env=late, expect=1)  # a plan refuses all three...
    for reason in ("Credential preflight failed", f"is already used by connector {p}-taken", "2026-06-09"):
        assert reason in said(refused.stderr), (reason, refused.stderr)
    tf.run("destroy", "-auto-approve", env=late)  # ... a destroy none of them
    for connector_id in (f"{p}_cli", f"{p}_v3", *([f"{p}_pulumi"] if engine.import_blocks else [])):
        assert record(emu, connector_id) is None, connector_id
    assert record(emu, f"{p}-taken") is not None and record(emu, f"{p}_weak") is None
    for output in tf.human_output():
        assert token not in output
    print(f"{engine.id}: plan contract took {time.monotonic() - started:.1f}s")  # never asserted
