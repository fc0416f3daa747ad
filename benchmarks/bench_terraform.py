"""`terraform apply` and `terraform plan` of 1, 50 and 200 `sgbitbucket_connector`s: wall time and requests.

Run: python benchmarks/bench_terraform.py [--sizes 1 50 200] [--latency-ms 20] [--terraform /usr/local/bin/terraform]
Per size, a fresh emulator with 20 ms StackGuardian latency; the provider is this venv's
`terraform-provider-sgbitbucket` through dev_overrides (isolated HOME and CLI config). Measured:
`apply` creating N connectors, then a no-change `plan` (refresh of N), then `plan` after one was
edited outside and one deleted outside (drift must show: 1 update, 1 create).

The official StackGuardian provider could not be built here (the Go module proxy answers 403 "This
module version is not available" for github.com/StackGuardian/terraform-provider-stackguardian), so
its request counts are DERIVED, not measured, from its documented code
(internal/resource/connector/resource.go): Create = one POST with no read-back, Read = one GET per
connector on every refresh, Update = one PATCH, and no credential preflight. So: apply of N new = N
requests; a plan of N existing = N GETs. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sg_bitbucket_iac.emulator import Emulator

ORG = "bench"
API_KEY = "sgo_bench_key"
WORKSPACE = "acme"
SOURCE = "registry.terraform.io/stackguardian/sgbitbucket"
TOKEN = "ATATT3xFfGF0" + "q7Zp2LmW9xKc4RtB8vYn3HsJ6dQa1UeG5oIk0TfVwXyZ" * 4 + "=8D1C2B3A"
SCOPES = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
          "read:project:bitbucket", "read:pullrequest:bitbucket"]

MAIN_TF = """
terraform {
  required_providers {
    sgbitbucket = { source = "stackguardian/sgbitbucket" }
  }
}
variable "token" {
  type      = string
  sensitive = true
}
"""


RESOURCE_TF = """
resource "sgbitbucket_connector" "c%(index)05d" {
  name        = "conn-%(index)05d"
  description = "managed by terraform"
  workspace   = "acme"
  auth_type   = "api_token"
  username    = "alice"
  email       = "alice@acme.io"
  api_token   = var.token
}
"""


def configuration(count: int) -> str:
    """N literal resource blocks (known values only: refined unknowns are another benchmark's business)."""
    return MAIN_TF + "".join(RESOURCE_TF % {"index": index} for index in range(count))


class Run:
    def __init__(self, terraform: Path, root: Path, emulator: Emulator) -> None:
        self.terraform, self.root, self.emulator = terraform, root, emulator
        home = root / "home"
        home.mkdir()
        rc = root / "terraform.rc"
        plugin_dir = Path(sys.executable).parent
        rc.write_text(f'provider_installation {{\n  dev_overrides {{\n    "{SOURCE}" = "{plugin_dir}"\n'
                      "  }\n  direct {}\n}\n")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TF_", "SG_", "STACKGUARDIAN_", "BITBUCKET_"))}
        self.env.update({"HOME": str(home), "TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1",
                         "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_VAR_token": TOKEN,
                         "SG_API_TOKEN": API_KEY, "SG_BASE_URL": emulator.stackguardian_url, "SG_ORG": ORG,
                         "BITBUCKET_API_URL": emulator.bitbucket_url})

    def terraform_run(self, *args: str) -> tuple[int, float, dict[str, Any]]:
        self.emulator.admin("DELETE", "/stats")
        started = time.perf_counter()
        process = subprocess.Popen([str(self.terraform), *args], cwd=self.root, env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = process.communicate(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # no provider plugin outlives its command
        elapsed = time.perf_counter() - started
        if process.returncode not in (0, 2):
            print(out[-3000:], err[-3000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"terraform {' '.join(args)} exited {process.returncode}")
        return process.returncode, elapsed, self.emulator.admin("GET", "/stats")["stackguardian"]


def seed(emulator: Emulator) -> None:
    emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": WORKSPACE, "repositories": [{"slug": "infra"}]})
    emulator.admin("POST", "/bitbucket/credentials", {"kind": "api_token", "secret": TOKEN, "email": "alice@acme.io",
                                                      "username": "alice", "scopes": SCOPES,
                                                      "workspaces": [WORKSPACE]})


def methods(stats: dict[str, Any]) -> str:
    return json.dumps(stats["by_method"], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--terraform", type=Path, default=Path("/usr/local/bin/terraform"))
    args = parser.parse_args()
    version = json.loads(subprocess.run([str(args.terraform), "version", "-json"], capture_output=True, text=True,
                                        check=True, env={**os.environ, "CHECKPOINT_DISABLE": "1"}).stdout)
    print(f"{args.terraform} (Terraform {version['terraform_version']}), provider sgbitbucket from this venv, "
          f"{args.latency_ms} ms StackGuardian latency, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    print("  official stackguardian provider: NOT MEASURED (Go proxy 403); its request counts below are DERIVED "
          "from its source (one POST per create, one GET per connector per refresh)")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
            seed(emulator)
            run = Run(args.terraform, Path(workdir), emulator)
            (Path(workdir) / "main.tf").write_text(configuration(size))
            emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*",
                                               "latency_ms": args.latency_ms})
            _, apply_wall, apply_stats = run.terraform_run("apply", "-auto-approve", "-no-color", "-parallelism=10")
            code, plan_wall, plan_stats = run.terraform_run("plan", "-no-color", "-detailed-exitcode")
            assert code == 0, "a plan right after apply must be clean"
            edited = f"conn_{size - 1:05d}"
            emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/{edited}", {"Description": "UI edit"})
            if size > 1:
                emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/conn_00000")
            code, drift_wall, drift_stats = run.terraform_run("plan", "-no-color", "-detailed-exitcode")
            assert code == 2, "drift made outside must show in the plan"
            official_apply, official_plan = size, size
            print(f"  {size:>4} connectors:")
            print(f"       apply (create {size}): {apply_wall:6.2f} s, {apply_stats['total']:>4} requests "
                  f"{methods(apply_stats)}; official (derived) {official_apply} requests -> ours/official "
                  f"{apply_stats['total'] / official_apply:.2f}x")
            print(f"       plan (refresh {size}, no change): {plan_wall:6.2f} s, {plan_stats['total']:>4} requests "
                  f"{methods(plan_stats)}; official (derived) {official_plan} GETs -> ours/official "
                  f"{plan_stats['total'] / official_plan:.2f}x")
            print(f"       plan after an edit and a delete outside: {drift_wall:6.2f} s, {drift_stats['total']:>4} "
                  f"requests {methods(drift_stats)} (exit 2: drift shown)")


if __name__ == "__main__":
    main()
