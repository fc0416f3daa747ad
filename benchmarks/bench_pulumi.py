"""`pulumi up` and `pulumi refresh` with the real Pulumi CLI for 1 and 50 `BitbucketConnector`s.

Run: python benchmarks/bench_pulumi.py [--sizes 1 50] [--latency-ms 20] [--credentials 2]
The Pulumi CLI (v3.274.1) comes from scripts/install-engines
(`$HOME/.cache/sg-bitbucket-iac/engines/bin`). Its Python language host cannot be built here (the
Go module proxy answers 403 for github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3),
so the program is an Automation API inline program (this process is its language host) and the
CLI runs the dynamic provider through the `pulumi-resource-pulumi-python` shim on PATH with
PULUMI_PYTHON_CMD = this venv's python. Everything is isolated: a file:// backend, a passphrase
secrets provider, its own PULUMI_HOME, no update check, no plugin download.

Per size, against a fresh emulator with 20 ms StackGuardian latency: `up` (create N), `up` again
(no change), `refresh` (read N), then `refresh` after one connector was edited and one deleted
outside. Printed: wall time, StackGuardian requests, and preflight runs (Bitbucket `GET /user`
calls: each preflight asks once), which must be one per distinct credential per run. Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sg_bitbucket_iac.emulator import Emulator

ENGINES = Path(os.environ.get("SG_BITBUCKET_IAC_ENGINES", Path.home() / ".cache" / "sg-bitbucket-iac" / "engines"))
ORG = "bench"
API_KEY = "sgo_bench_key"
WORKSPACE = "acme"
PASSPHRASE = "benchmark-passphrase"
SCOPES = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
          "read:project:bitbucket", "read:pullrequest:bitbucket"]


def token(index: int) -> str:
    """Distinct API tokens shaped like Bitbucket's."""
    return f"ATATT3xFfGF0{index:02d}" + "q7Zp2LmW9xKc4RtB8vYn3HsJ6dQa1UeG5oIk0TfVwXyZ" * 4 + "=8D1C2B3A"


def program(size: int, credentials: int) -> Callable[[], None]:
    def run() -> None:
        import pulumi

        from sg_bitbucket_iac.pulumi import ApiTokenAuth, BitbucketConnector

        cfg = pulumi.Config()
        tokens = [cfg.require_secret(f"token{i}") for i in range(credentials)]
        for index in range(size):
            BitbucketConnector(
                f"c{index:05d}", name=f"conn-{index:05d}", workspace=WORKSPACE, description="managed by pulumi",
                auth=ApiTokenAuth(username="alice", email="alice@acme.io", api_token=tokens[index % credentials]))

    return run


def seed(emulator: Emulator, credentials: int) -> None:
    emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
    emulator.admin("POST", "/bitbucket/workspaces", {"slug": WORKSPACE, "repositories": [{"slug": "infra"}]})
    for index in range(credentials):
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": token(index), "email": "alice@acme.io", "username": "alice",
            "scopes": SCOPES, "workspaces": [WORKSPACE]})


def stack_for(root: Path, emulator: Emulator, size: int, credentials: int) -> Any:
    from pulumi import automation as auto

    home, backend = root / "pulumi-home", root / "backend"
    home.mkdir()
    backend.mkdir()
    env = {
        "PULUMI_HOME": str(home), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PULUMI_PYTHON_CMD": sys.executable,
        "PATH": os.pathsep.join([str(ENGINES / "bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "SG_BITBUCKET_IAC_PREFLIGHT": "true",
    }
    command = auto.PulumiCommand(root=str(ENGINES), skip_version_check=True)
    project = auto.ProjectSettings(name="bench", runtime="python", backend=auto.ProjectBackend(url=f"file://{backend}"))
    options = auto.LocalWorkspaceOptions(work_dir=str(root), pulumi_home=str(home), env_vars=env,
                                         project_settings=project, pulumi_command=command,
                                         secrets_provider="passphrase")
    stack = auto.create_or_select_stack("bench", "bench", program(size, credentials), opts=options)
    stack.set_all_config({
        "stackguardian:apiKey": auto.ConfigValue(API_KEY, secret=True),
        "stackguardian:apiUrl": auto.ConfigValue(emulator.stackguardian_url),
        "stackguardian:org": auto.ConfigValue(ORG),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emulator.bitbucket_url),
        **{f"token{i}": auto.ConfigValue(token(i), secret=True) for i in range(credentials)},
    })
    return stack


def measured(emulator: Emulator, action: Callable[[], Any]) -> tuple[float, int, int, Any]:
    """(wall s, StackGuardian requests, preflight runs, result) of one Pulumi operation."""
    emulator.admin("DELETE", "/stats")
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    stats = emulator.admin("GET", "/stats")
    preflights = sum(count for route, count in stats["bitbucket"]["by_route"].items() if route.endswith(" /2.0/user"))
    return wall, stats["stackguardian"]["total"], preflights, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--credentials", type=int, default=2, help="distinct API tokens spread over the connectors")
    args = parser.parse_args()
    if not (ENGINES / "bin" / "pulumi").exists():
        raise SystemExit(f"no Pulumi CLI at {ENGINES / 'bin' / 'pulumi'}: run scripts/install-engines")
    print(f"Pulumi CLI {ENGINES / 'bin' / 'pulumi'} (Automation API inline program, dynamic provider via "
          f"pulumi-resource-pulumi-python), {args.latency_ms} ms StackGuardian latency, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    for size in args.sizes:
        bench_size(size, min(args.credentials, size), args.latency_ms)


def bench_size(size: int, credentials: int, latency_ms: int) -> None:
    with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
        seed(emulator, credentials)
        stack = stack_for(Path(workdir), emulator, size, credentials)
        emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "latency_ms": latency_ms})
        print(f"  {size} connector(s), {credentials} distinct credential(s):")
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("up (create)", lambda: stack.up(parallel=10)),
            ("up (no change)", lambda: stack.up(parallel=10)),
            ("refresh", lambda: stack.refresh(parallel=10)),
            ("refresh after edit+delete", lambda: stack.refresh(parallel=10)),
        ]
        for label, action in steps:
            if label == "refresh after edit+delete":
                emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/conn_{size - 1:05d}",
                               {"Description": "UI edit"})
                if size > 1:
                    emulator.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/conn_00000")
            wall, requests, preflights, result = measured(emulator, action)
            changes = dict(result.summary.resource_changes or {})
            print(f"    {label:28} {wall:6.2f} s, {requests:>3} StackGuardian requests, {preflights} preflight "
                  f"run(s), changes {changes}")
        stack.workspace.remove_stack("bench", force=True)

if __name__ == "__main__":
    main()
