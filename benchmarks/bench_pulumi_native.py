"""The native provider against the dynamic resource, in one run: `pulumi up` of 50 and `pulumi refresh` of 50,
and the native plugin's start-up to its handshake against `python -c "import pulumi"`.

Run: python benchmarks/bench_pulumi_native.py [--size 50] [--latency-ms 20] [--credentials 2] [--starts 7]

Both sides run the same way, so that only the provider differs: an Automation API inline Python
program on the real CLI (v3.274.1 from scripts/install-engines), a fresh emulator with 20 ms
StackGuardian latency, `--parallel 10`. Dynamic: `BitbucketConnector` through the
`pulumi-resource-pulumi-python` shim (see bench_pulumi.py). Native: `pulumi_sgbitbucket.Connector`
(the generated SDK, pip-installed into a temp folder) through `pulumi-resource-sgbitbucket` on PATH.
Printed: wall time and StackGuardian requests per step. Start-up: the median, over `--starts` runs,
of the time from starting the plugin to its port on stdout (what the engine waits for), beside the
same for `python -c "import pulumi"` and `python -m pulumi.dynamic`. Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_pulumi import API_KEY, ORG, WORKSPACE, measured, seed, stack_for

from sg_bitbucket_iac.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def native_program(size: int, credentials: int) -> Callable[[], None]:
    def run() -> None:
        import pulumi
        import pulumi_sgbitbucket as sgbitbucket

        cfg = pulumi.Config()
        tokens = [cfg.require_secret(f"token{i}") for i in range(credentials)]
        for index in range(size):
            sgbitbucket.Connector(
                f"c{index:05d}", name=f"conn-{index:05d}", workspace=WORKSPACE, description="managed by pulumi",
                auth_type="api_token", username="alice", email="alice@acme.io", api_token=tokens[index % credentials])

    return run


def native_stack(root: Path, emulator: Emulator, size: int, credentials: int) -> Any:
    """The dynamic benchmark's stack, with the native program and the sgbitbucket config too."""
    from pulumi import automation as auto

    stack = stack_for(root, emulator, size, credentials)
    stack.workspace.program = native_program(size, credentials)
    stack.set_all_config({
        "sgbitbucket:apiKey": auto.ConfigValue(API_KEY, secret=True),
        "sgbitbucket:apiUrl": auto.ConfigValue(emulator.stackguardian_url),
        "sgbitbucket:org": auto.ConfigValue(ORG),
        "sgbitbucket:bitbucketApiUrl": auto.ConfigValue(emulator.bitbucket_url),
    })
    return stack


def compare(size: int, credentials: int, latency_ms: int) -> None:
    print(f"{size} connectors, {credentials} distinct credential(s), {latency_ms} ms StackGuardian latency:")
    print(f"  {'':10} {'up (create)':>28} {'refresh':>28}")
    for label, make in (("dynamic", stack_for), ("native", native_stack)):
        with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
            seed(emulator, credentials)
            stack = make(Path(workdir), emulator, size, credentials)
            emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "latency_ms": latency_ms})
            cells = []
            for action in (stack.up, stack.refresh):
                wall, requests, _preflights, _ = measured(emulator, lambda call=action: call(parallel=10))
                cells.append(f"{wall:6.2f} s, {requests:>3} requests")
            print(f"  {label:10} {cells[0]:>28} {cells[1]:>28}")
            stack.workspace.remove_stack("bench", force=True)


def to_port(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from starting a plugin process to the first line it prints (its port), then stop it."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        if not line.strip():
            raise SystemExit(f"{argv[0]} printed no port")
        return elapsed
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def startup(starts: int) -> None:
    env = {**os.environ, "PULUMI_PROJECT": "bench"}
    python = sys.executable
    rows = [
        ("pulumi-resource-sgbitbucket to its port", lambda: to_port([str(VENV_BIN / "pulumi-resource-sgbitbucket")],
                                                                     env)),
        ('python -c "import pulumi"', lambda: run_time([python, "-c", "import pulumi"], env)),
        ("python -m pulumi.dynamic to its port", lambda: to_port([python, "-u", "-m", "pulumi.dynamic"], env)),
    ]
    print(f"start-up, median of {starts}:")
    medians = {}
    for label, measure in rows:
        measure()  # warm the file cache
        medians[label] = statistics.median(measure() for _ in range(starts))
    baseline = medians['python -c "import pulumi"']
    for label, value in medians.items():
        print(f"  {label:42} {value * 1000:6.0f} ms  ({value / baseline:.2f}x import pulumi)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--credentials", type=int, default=2)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        source, site = Path(scratch) / "source", Path(scratch) / "site"
        shutil.copytree(REPO / "sdk" / "python", source)  # pip builds in the source folder: not in the repo
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                        str(source)], check=True, cwd=scratch)
        sys.path.insert(0, str(site))
        compare(args.size, min(args.credentials, args.size), args.latency_ms)
    startup(args.starts)


if __name__ == "__main__":
    main()
