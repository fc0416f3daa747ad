"""Every command Terraform and Pulumi users are told to run works when followed literally (issue 22, part 2).

Real engines on the emulator: the machine's Terraform (`/usr/local/bin/terraform`, else what
`tf_harness.find_terraform` picks) and the real Pulumi CLI (v3.274.1) with inline programs. Each
test meets a refusal, takes the command from the text the engine printed (tests/advice.py), fills
in only the resource address a person fills in, runs it, and ends in a clean plan or preview.
Each front speaks in its own words: nothing sends a Terraform or Pulumi user to `sg-bitbucket`,
whose `migrate` refuses their connectors (the loop of the issue).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pytest
import tf_harness
from advice import argv, commands_in, the_command
from engines import require_engine
from pulumi import automation as auto
from pulumi_harness import SHIM, PulumiProject
from seeding import API_TOKEN_SCOPES
from tf_harness import (
    Terraform,
    api_token_block,
    scenario_terraform,
)

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import ApiTokenAuth, AppPasswordAuth, BitbucketConnector
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = pytest.mark.e2e

ORG = "acme"
DEPRECATED_PHASE = "2026-03-02T09:00:00Z"
END_OF_SUPPORT = "2026-06-10T09:00:00Z"
ADDRESS = "sgbitbucket_connector.main"
RECORDS = f"/stackguardian/orgs/{ORG}/integrations"


APP_PASSWORD_BLOCK = '''
resource "sgbitbucket_connector" "main" {
  name         = "legacy"
  workspace    = "acme"
  auth_type    = "app_password"
  username     = "bob"
  app_password = var.password
}

variable "password" {
  type      = string
  sensitive = true
}
'''


@pytest.fixture(scope="module")
def terraform_binary(request: pytest.FixtureRequest) -> Path:
    return scenario_terraform(request.config, "Terraform's advice is followed with a real Terraform")


@pytest.fixture
def emu(sentinel: str) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [f"sgo_{sentinel}"]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme"})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": f"{sentinel}-token", "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "app_password", "secret": f"{sentinel}-password", "username": "bob", "workspaces": ["acme"],
            "scopes": ["account", "team", "repository", "project", "pullrequest"]})
        yield emulator


def seed(emu: Emulator, connector_id: str, name: str, token: str, owner: str | None = None) -> None:
    """A connector made in the UI (or written by another front: `owner`)."""
    emu.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [],
        "ContextTags": {OWNER_TAG: owner, "sg-bitbucket-iac/workspace": "acme"} if owner else {},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}",
            "bitbucketEmail": "alice@acme.io"}]}}]})


def owner(emu: Emulator, connector_id: str) -> str | None:
    tags = emu.admin("GET", f"{RECORDS}/{connector_id}")["ContextTags"] or {}
    return tags.get(OWNER_TAG)


def prose(output: str) -> str:
    """Terraform's diagnostic box as one line of text (its `│` margin and line wrapping undone)."""
    return re.sub(r"\s*\n[│╷╵\s]*", " ", output)


def cli(emu: Emulator, sentinel: str, capsys: pytest.CaptureFixture[str], *args: str,
        now: str | None = None) -> tuple[int, str]:
    capsys.readouterr()
    env = {"SG_API_TOKEN": f"sgo_{sentinel}", "SG_BASE_URL": emu.stackguardian_url, "SG_ORG": ORG,
           "BITBUCKET_API_URL": emu.bitbucket_url, "SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF": "0",
           "BB_TOKEN": f"{sentinel}-token"}
    if now:
        env["SG_BITBUCKET_IAC_NOW"] = now
    code = app.main(list(args), environ=env)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --------------------------------------------------------------------------- Terraform
class TerraformUser:
    """One configuration in a working directory, run as a person runs it."""

    def __init__(self, binary: Path, root: Path, emu: Emulator, sentinel: str) -> None:
        self.emu = emu
        self.tf = Terraform.create(binary, root, {"STACKGUARDIAN_API_KEY": f"sgo_{sentinel}",
                                                  "STACKGUARDIAN_API_URI": emu.stackguardian_url})
        self.vars = {"TF_VAR_token": f"{sentinel}-token", "TF_VAR_password": f"{sentinel}-password"}
        self.sentinel = sentinel

    def configure(self, resource: str) -> None:
        self.tf.write("main.tf", tf_harness.provider_block(ORG, self.emu.bitbucket_url) + resource)

    def run(self, *args: str, expect: int | tuple[int, ...] = 0, now: str | None = None) -> tf_harness.Result:
        env = {**self.vars, **({"SG_BITBUCKET_IAC_NOW": now} if now else {})}
        return self.tf.run(*args, env=env, expect=expect)

    def follow(self, text: str, starting: str, now: str | None = None) -> None:
        """The `terraform ...` command the text names, with the address this configuration gave the resource."""
        command = the_command(text, "terraform", starting=starting)
        args = argv(command, **{"<address>": ADDRESS})
        if args == ["apply"]:
            args.append("-auto-approve")  # nobody at a terminal to answer `yes`: what CI passes
        self.run(*args, now=now)

    def clean_plan(self, now: str | None = None) -> None:
        planned = self.run("plan", "-detailed-exitcode", expect=(0, 2), now=now)
        assert planned.returncode == 0, planned.output

    def no_leak(self, *more: str) -> None:
        for text in [*self.tf.human_output(), *more]:
            assert self.sentinel not in text


def cli_adopts_what_terraform_applied(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[TerraformUser, Path, int, str]:
    """Terraform applies `bitbucket-main`, then a CLI file with `adopt: true` takes it: (the Terraform user,
    the CLI's definitions file, its exit code, its output)."""
    user = TerraformUser(terraform_binary, tmp_path / "tf", emu, sentinel)
    user.configure(api_token_block())
    user.run("apply", "-auto-approve")
    definitions = tmp_path / "connectors.yaml"
    definitions.write_text("connectors:\n  - name: bitbucket-main\n    workspace: acme\n    adopt: true\n"
                           '    auth: {type: api_token, username: alice, email: alice@acme.io, '
                           'api_token: "${env:BB_TOKEN}"}\n')
    code, output = cli(emu, sentinel, capsys, "apply", "-f", str(definitions), "--auto-approve")
    return user, definitions, code, output


def test_terraform_takes_back_a_connector_the_cli_adopted(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user, _, code, output = cli_adopts_what_terraform_applied(terraform_binary, emu, sentinel, tmp_path, capsys)
    assert code == 0 and owner(emu, "bitbucket_main") == "cli", output

    refused = prose(user.run("plan", expect=1).output)
    refused = refused[refused.index("Error:"):]  # (the refresh warns of the CLI's write first)
    assert "owned by cli" in refused and "sg-bitbucket " not in refused
    take_over = refused[refused.index("take it over with"):]
    # `terraform import` alone fails here (the resource is in the state): the advice starts with `state rm`.
    assert commands_in(take_over, "terraform")[:3] == [
        "terraform state rm <address>", "terraform import <address> bitbucket_main", "terraform apply"], refused
    user.follow(take_over, "state rm")
    user.follow(take_over, "import")
    user.follow(take_over, "apply")
    assert owner(emu, "bitbucket_main") == "terraform"
    user.clean_plan()
    user.no_leak(output)


def test_terraform_leaves_a_connector_the_cli_adopted_without_deleting_it(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """"Leave it to cli" said how: removing the resource block alone would make Terraform delete the connector."""
    user, definitions, code, output = cli_adopts_what_terraform_applied(
        terraform_binary, emu, sentinel, tmp_path, capsys)
    assert code == 0, output
    refused = prose(user.run("plan", expect=1).output)
    leave = refused[refused.index("leave it to cli"):refused.index("take it over with")]
    assert "then remove its resource block" in leave, refused
    user.follow(leave, "state rm")
    user.configure("")  # then the resource block goes
    user.clean_plan()
    assert owner(emu, "bitbucket_main") == "cli"  # still there, still the CLI's
    code, output = cli(emu, sentinel, capsys, "plan", "-f", str(definitions), "--detailed-exitcode")
    assert code == 0, output
    user.no_leak(output)


def test_terraform_imports_a_connector_made_in_the_ui_as_told(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path
) -> None:
    seed(emu, "bitbucket_main", "bitbucket-main", f"{sentinel}-token")
    user = TerraformUser(terraform_binary, tmp_path / "tf", emu, sentinel)
    user.configure(api_token_block())
    refused = prose(user.run("plan", expect=1).output)
    assert "already exists" in refused and "sg-bitbucket " not in refused
    user.follow(refused, "import")
    user.follow(refused, "apply")
    user.clean_plan()
    user.no_leak()


def test_terraform_takes_over_a_connector_the_cli_owns_as_told(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path
) -> None:
    seed(emu, "bitbucket_main", "bitbucket-main", f"{sentinel}-token", owner="cli")
    user = TerraformUser(terraform_binary, tmp_path / "tf", emu, sentinel)
    user.configure(api_token_block())
    refused = prose(user.run("plan", expect=1).output)
    assert "owned by cli" in refused and "take it over with `terraform import <address> bitbucket_main`" in refused
    user.follow(refused, "import")
    user.run("apply", "-auto-approve")
    assert owner(emu, "bitbucket_main") == "terraform"
    user.clean_plan()
    user.no_leak()


def test_terraform_declares_a_connector_that_holds_the_name_as_told(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path
) -> None:
    seed(emu, "made-in-ui", "bitbucket-main", f"{sentinel}-token")
    user = TerraformUser(terraform_binary, tmp_path / "tf", emu, sentinel)
    user.configure(api_token_block())
    refused = prose(user.run("plan", expect=1).output)
    assert 'set `connector_id = "made-in-ui"` on the resource and import it' in refused, refused
    user.configure(api_token_block(extra='\n  connector_id = "made-in-ui"'))
    user.follow(refused, "import")
    user.run("apply", "-auto-approve")
    user.clean_plan()
    assert [r["Id"] for r in emu.admin("GET", RECORDS)["records"]] == ["made-in-ui"]
    user.no_leak()


def test_an_app_password_terraform_owns_is_switched_in_terraforms_words(
    terraform_binary: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loop of the issue: migrate pointed at Terraform, and Terraform back at migrate."""
    emu.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    user = TerraformUser(terraform_binary, tmp_path / "tf", emu, sentinel)
    user.configure(APP_PASSWORD_BLOCK)
    user.run("apply", "-auto-approve", now=DEPRECATED_PHASE)
    emu.admin("POST", "/clock", {"now": END_OF_SUPPORT})

    code, migrate = cli(emu, sentinel, capsys, "migrate", "--connector", "legacy", "--to", "api_token",
                        "--username", "alice", "--email", "alice@acme.io", "--secret-env", "BB_TOKEN",
                        now=END_OF_SUPPORT)
    assert code == 1 and "owned by terraform" in migrate
    assert 'set auth_type = "api_token" with username, email and api_token' in migrate
    assert "`terraform apply`" in migrate and "take it over" not in migrate and "leave it to" not in migrate
    # Left as it is, the connector only warns, at every refresh (the dates refuse writing a credential).
    refused = prose(user.run("plan", expect=0, now=END_OF_SUPPORT).output)
    assert "uses an app password" in refused
    assert 'set auth_type = "api_token" with username, email and api_token' in refused
    assert "sg-bitbucket" not in refused  # never back to `migrate`, which refuses Terraform's connectors
    # Followed: the same resource, now an API token (the app password's attribute and variable removed).
    user.configure(api_token_block(name="legacy"))
    user.follow(refused, "apply", now=END_OF_SUPPORT)
    record = emu.admin("GET", f"{RECORDS}/legacy")
    assert record["Settings"]["config"][0]["bitbucketAuthType"] == "API_TOKEN"
    user.clean_plan(now=END_OF_SUPPORT)
    code, audit = cli(emu, sentinel, capsys, "audit", now=END_OF_SUPPORT)
    assert code == 0, audit
    user.no_leak(migrate, audit)


# --------------------------------------------------------------------------- Pulumi
@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    binary = require_engine("pulumi", "Pulumi's advice is followed with the real CLI")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    return binary


@pytest.fixture
def pulumi_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI", "SG_ORG",
                 "STACKGUARDIAN_ORG_NAME", "BITBUCKET_API_URL", "SG_BITBUCKET_IAC_PREFLIGHT", "SG_BITBUCKET_IAC_NOW"):
        monkeypatch.delenv(name, raising=False)


def pulumi_project(binary: Path, root: Path, emu: Emulator, sentinel: str, now: str | None = None) -> PulumiProject:
    return PulumiProject.create(binary, root, project="advice", extra_env={"SG_BITBUCKET_IAC_NOW": now} if now else {},
                                config={
        "stackguardian:apiKey": auto.ConfigValue(f"sgo_{sentinel}", secret=True),
        "stackguardian:org": auto.ConfigValue(ORG),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
        "token": auto.ConfigValue(f"{sentinel}-token", secret=True),
        "password": auto.ConfigValue(f"{sentinel}-password", secret=True),
    })


@pytest.mark.usefixtures("pulumi_environment")
def test_pulumi_follows_its_own_advice_for_connectors_it_does_not_own_yet(
    pulumi_cli: Path, emu: Emulator, sentinel: str, tmp_path: Path
) -> None:
    """Three refusals (another front's connector, one made in the UI, a name another Id holds), each
    met at `preview` and followed as it says; then `pulumi up` and a preview with nothing to do."""
    seed(emu, "cli_owned", "cli-owned", f"{sentinel}-token", owner="cli")
    seed(emu, "ui_made", "ui-made", f"{sentinel}-token")
    seed(emu, "holder-id", "holder", f"{sentinel}-token")
    project = pulumi_project(pulumi_cli, tmp_path, emu, sentinel)
    advice = {
        "cli-owned": "take it over with `adopt=True` on the BitbucketConnector, then `pulumi up`",
        "ui-made": "set adopt=True to manage it from this stack",
        "holder": 'set `connector_id="holder-id"` and `adopt=True` on the BitbucketConnector, then `pulumi up`',
    }

    def program(names: tuple[str, ...], followed: bool) -> Callable[[], None]:
        def run() -> None:
            auth = ApiTokenAuth(username="alice", email="alice@acme.io",
                                api_token=pulumi.Config().require_secret("token"))
            for name in names:
                BitbucketConnector(name, name=name, workspace="acme", auth=auth, adopt=followed,
                                   connector_id="holder-id" if followed and name == "holder" else None)
        return run

    for name, says in advice.items():  # Pulumi stops at the first refusal: one resource at a time
        failed = project.failing("preview", program((name,), False))
        said = failed.stdout + failed.stderr
        assert says in said, said
        assert "sg-bitbucket " not in said and "terraform" not in said
    project.up(program(tuple(advice), True))
    run, preview = project.preview(program(tuple(advice), True))
    assert preview.change_summary == {"same": 4}, run.stdout  # three connectors and the stack
    assert {owner(emu, i) for i in ("cli_owned", "ui_made", "holder-id")} == {"pulumi"}
    for text in project.printed():
        assert sentinel not in text


@pytest.mark.usefixtures("pulumi_environment")
def test_pulumi_takes_back_a_connector_the_cli_adopted(
    pulumi_cli: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = pulumi_project(pulumi_cli, tmp_path, emu, sentinel)

    def program(adopt: bool) -> Callable[[], None]:
        def run() -> None:
            BitbucketConnector("main", name="bitbucket-main", workspace="acme", adopt=adopt,
                               auth=ApiTokenAuth(username="alice", email="alice@acme.io",
                                                 api_token=pulumi.Config().require_secret("token")))
        return run

    project.up(program(False))
    definitions = tmp_path / "connectors.yaml"
    definitions.write_text("connectors:\n  - name: bitbucket-main\n    workspace: acme\n    adopt: true\n"
                           '    auth: {type: api_token, username: alice, email: alice@acme.io, '
                           'api_token: "${env:BB_TOKEN}"}\n')
    emu.admin("POST", "/clock", {"now": "2099-01-01T00:00:00Z"})  # the CLI's write comes after Pulumi's
    code, output = cli(emu, sentinel, capsys, "apply", "-f", str(definitions), "--auto-approve")
    emu.admin("POST", "/clock", {"now": None})
    assert code == 0 and owner(emu, "bitbucket_main") == "cli", output
    project.refresh()  # sees the write made outside: the declared credential is to be re-sent
    failed = project.failing("up", program(False))
    said = failed.stdout + failed.stderr
    assert "owned by cli" in said and "take it over with `adopt=True` on the BitbucketConnector, then `pulumi up`" \
        in said, said
    project.up(program(True))
    assert owner(emu, "bitbucket_main") == "pulumi"
    run, preview = project.preview(program(True))
    assert preview.change_summary == {"same": 2}, run.stdout
    for text in [*project.printed(), output]:
        assert sentinel not in text


@pytest.mark.usefixtures("pulumi_environment")
def test_pulumi_leaves_a_connector_the_cli_adopted_without_deleting_it(
    pulumi_cli: Path, emu: Emulator, sentinel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """"Leave it to cli" said how: removed from the program alone, `pulumi up` would delete the connector."""
    project = pulumi_project(pulumi_cli, tmp_path, emu, sentinel)

    def program(declared: bool) -> Callable[[], None]:
        def run() -> None:
            if declared:
                BitbucketConnector("main", name="bitbucket-main", workspace="acme",
                                   auth=ApiTokenAuth(username="alice", email="alice@acme.io",
                                                     api_token=pulumi.Config().require_secret("token")))
        return run

    project.up(program(True))
    definitions = tmp_path / "connectors.yaml"
    definitions.write_text("connectors:\n  - name: bitbucket-main\n    workspace: acme\n    adopt: true\n"
                           '    auth: {type: api_token, username: alice, email: alice@acme.io, '
                           'api_token: "${env:BB_TOKEN}"}\n')
    emu.admin("POST", "/clock", {"now": "2099-01-01T00:00:00Z"})
    code, output = cli(emu, sentinel, capsys, "apply", "-f", str(definitions), "--auto-approve")
    emu.admin("POST", "/clock", {"now": None})
    assert code == 0, output
    project.refresh()
    failed = project.failing("up", program(True))
    said = failed.stdout + failed.stderr
    leave = said[said.index("leave it to cli"):said.index("take it over with")]
    command = the_command(leave, "pulumi", starting="state delete")
    urn = next(r["urn"] for r in project.export()["resources"] if r["urn"].endswith("::main"))
    workspace = project.stack.workspace
    assert isinstance(workspace, auto.LocalWorkspace) and workspace.pulumi_command is not None
    workspace.pulumi_command.run([*argv(command, **{"<urn>": urn}), "--stack", project.stack.name, "--yes"],
                                 workspace.work_dir, dict(workspace.env_vars))
    run, preview = project.preview(program(False))  # then it goes from the program
    assert preview.change_summary == {"same": 1}, run.stdout  # the stack only: nothing to delete
    assert owner(emu, "bitbucket_main") == "cli"
    for text in [*project.printed(), output]:
        assert sentinel not in text


@pytest.mark.usefixtures("pulumi_environment")
def test_pulumi_switches_its_app_password_connector_in_its_own_words(
    pulumi_cli: Path, emu: Emulator, sentinel: str, tmp_path: Path
) -> None:
    emu.admin("POST", "/clock", {"now": DEPRECATED_PHASE})
    project = pulumi_project(pulumi_cli, tmp_path, emu, sentinel, now=DEPRECATED_PHASE)

    def program(switched: bool) -> Callable[[], None]:
        def run() -> None:
            config = pulumi.Config()
            auth = (ApiTokenAuth(username="alice", email="alice@acme.io", api_token=config.require_secret("token"))
                    if switched else AppPasswordAuth(username="bob", app_password=config.require_secret("password")))
            BitbucketConnector("legacy", name="legacy", workspace="acme", auth=auth)
        return run

    project.up(program(False))
    emu.admin("POST", "/clock", {"now": END_OF_SUPPORT})
    project.stack.workspace.env_vars["SG_BITBUCKET_IAC_NOW"] = END_OF_SUPPORT
    # Left as it is, the app password only warns (the dates refuse a credential write, never block the rest).
    warned, _ = project.preview(program(False))
    said = warned.stdout + warned.stderr
    assert "give the BitbucketConnector auth=ApiTokenAuth(username, email, api_token)" in said, said
    assert "sg-bitbucket" not in said
    project.up(program(True))
    record = emu.admin("GET", f"{RECORDS}/legacy")
    assert record["Settings"]["config"][0]["bitbucketAuthType"] == "API_TOKEN"
    run, preview = project.preview(program(True))
    assert preview.change_summary == {"same": 2}, run.stdout
    for text in project.printed():
        assert sentinel not in text
