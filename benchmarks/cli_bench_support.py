"""Shared set-up of the CLI benchmarks: an emulator seeded with many connectors managed by sg-bitbucket.

Connectors are seeded in one request through the admin API's bulk route, with the ContextTags the
CLI itself writes on apply (managed marker, last applied snapshot, credential fingerprint), so
drift/apply start from the steady state of a real installation. The CLI then runs as a
subprocess, as a user would run it.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sg_bitbucket_iac.changed_outside import wall_clock
from sg_bitbucket_iac.cli.commands.common import run_bounded
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import AppliedSnapshot
from sg_bitbucket_iac.model import Connector, parse_connector
from sg_bitbucket_iac.tags import cli_bookkeeping, descriptive_tags
from sg_bitbucket_iac.wire import to_create_payload, wire_json_default

ORG = "bench"
API_KEY = "sgo_bench_key"
WORKSPACE = "acme"
# Shaped like the API tokens Bitbucket issues (~190 random characters); seeded, so runs compare.
_TOKEN_RNG = random.Random(2026)
TOKEN = "ATATT3xFfGF0" + "".join(_TOKEN_RNG.choice(string.ascii_letters + string.digits + "-_")
                                 for _ in range(180)) + "=8D1C2B3A"
SCOPES = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
          "read:project:bitbucket", "read:pullrequest:bitbucket"]


def connector(index: int, description: str) -> Connector:
    return parse_connector({
        "name": f"conn-{index:05d}", "description": description, "tags": ["bench"], "workspace": WORKSPACE,
        "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": TOKEN},
    })


def definitions_yaml(count: int, description: str, *, changed: int = 0, changed_description: str = "") -> str:
    """A definitions file of `count` connectors; the first `changed` get `changed_description`."""
    entries = "".join(
        f"  - name: conn-{index:05d}\n    description: {changed_description if index < changed else description}\n"
        f"    tags: [bench]\n    workspace: {WORKSPACE}\n"
        "    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: \"${env:BENCH_TOKEN}\"}\n"
        for index in range(count)
    )
    return f"org: {ORG}\nconnectors:\n{entries}"


def managed_record(item: Connector) -> dict[str, Any]:
    """The record as `sg-bitbucket apply` would have created it."""
    tags = {**descriptive_tags(item), **cli_bookkeeping(AppliedSnapshot.of(item, ORG).to_dict(), wall_clock())}
    encoded: dict[str, Any] = json.loads(json.dumps(to_create_payload(item, tags), default=wire_json_default))
    return encoded


@dataclass
class Bench:
    emulator: Emulator
    workdir: Path

    def seed(self, count: int, description: str) -> None:
        self.emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        self.emulator.admin("POST", "/bitbucket/workspaces", {
            "slug": WORKSPACE, "repositories": [{"slug": "infra"}]})
        self.emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": TOKEN, "email": "alice@acme.io", "username": "alice",
            "scopes": SCOPES, "workspaces": [WORKSPACE]})
        connectors = [connector(index, description) for index in range(count)]
        records = run_bounded(connectors, managed_record, parallelism=os.cpu_count() or 2)
        self.emulator.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})

    def inject_latency(self, milliseconds: int) -> None:
        self.emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*",
                                                "latency_ms": milliseconds})

    def stackguardian_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.emulator.admin("GET", "/stats")["stackguardian"]
        return stats

    def cli(self, args: Sequence[str]) -> tuple[int, float, dict[str, Any]]:
        """(exit code, wall seconds, StackGuardian request stats) of one `sg-bitbucket` run."""
        run = self.run(args)
        return run.code, run.wall, run.stats

    def run(self, args: Sequence[str], extra_env: dict[str, str] | None = None) -> CliRun:
        """One `sg-bitbucket` run as a subprocess, with its own CPU time and peak memory (wait4)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SG_", "STACKGUARDIAN_", "BITBUCKET_"))}
        env.update({
            "SG_API_TOKEN": API_KEY, "SG_BASE_URL": self.emulator.stackguardian_url, "SG_ORG": ORG,
            "BITBUCKET_API_URL": self.emulator.bitbucket_url, "BENCH_TOKEN": TOKEN, **(extra_env or {}),
        })
        self.emulator.admin("DELETE", "/stats")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            peak_file = Path(self.workdir) / ".peak-kb"
            env["BENCH_PEAK_FILE"] = str(peak_file)
            process = subprocess.Popen([sys.executable, "-c", _PEAK_WRAPPER, *args], env=env,
                                       stdout=out, stderr=err, cwd=self.workdir)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            peak_mb = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
            process.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            if process.returncode not in (0, 2):
                out.seek(0)
                print(out.read()[-2000:].decode(errors="replace"), stderr[-2000:], sep="\n", file=sys.stderr)
        return CliRun(process.returncode, wall, usage.ru_utime + usage.ru_stime, peak_mb, self.stackguardian_stats(),
                      stderr)


# Runs the CLI as its console script does (cli.main) and records its own peak RSS: VmHWM of its
# address space (a child's rusage maxrss also counts the parent's memory at fork: the emulator's).
_PEAK_WRAPPER = """
import atexit, os, runpy, sys
def _record_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
                    out.write(line.split()[1])
atexit.register(_record_peak)
sys.argv = ["sg-bitbucket", *sys.argv[1:]]
runpy.run_module("sg_bitbucket_iac.cli.main", run_name="__main__")
"""


@dataclass(frozen=True)
class CliRun:
    code: int
    wall: float
    cpu: float  # user + system seconds of the CLI process
    max_rss_mb: float  # its own peak resident memory (VmHWM)
    stats: dict[str, Any]
    stderr: str = ""

    def phases(self) -> dict[str, float]:
        """Seconds per phase, from the run's SG_BITBUCKET_IAC_LOG=info lines (read file, read org, plan, writes)."""
        found: dict[str, float] = {}
        for name, pattern in _PHASES.items():
            match = re.search(pattern, self.stderr)
            if match:
                found[name] = float(match.group(1))
        return found


_PHASES = {
    "read file": r"INFO sg_bitbucket_iac\.cli: read [^:]+: \d+ connector\(s\) in ([\d.]+) s",
    "read org": r"INFO sg_bitbucket_iac\.cli: read org \S+: \d+ connector\(s\) in ([\d.]+) s",
    "plan": r"INFO sg_bitbucket_iac\.cli: planned \d+ connector\(s\) in ([\d.]+) s",
    "writes": r"INFO sg_bitbucket_iac\.cli: applied \d+ change\(s\) in ([\d.]+) s",
}


def cli_startup_seconds() -> float:
    """What a `--help` costs: the interpreter and the CLI's own start, to read the figures against."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sg_bitbucket_iac.cli.main", "--help"], capture_output=True, check=True)
    return time.perf_counter() - started


# The same PATCHes as an apply of description changes, from the plainest client there is: one
# http.client connection per thread, no retries, no parsing. Run as its own process, like the CLI.
_BARE_WRITES = """
import http.client, json, sys, threading, time
from urllib.parse import urlsplit
base, org, key, parallelism, ids = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
url = urlsplit(base)
lock = threading.Lock()
def worker():
    connection = http.client.HTTPConnection(url.hostname, url.port)
    while True:
        with lock:
            if not ids:
                return
            connector_id = ids.pop()
        connection.request("PATCH", f"/api/v1/orgs/{org}/integrations/{connector_id}/",
                           body=json.dumps({"Description": "bare client"}),
                           headers={"Authorization": f"apikey {key}", "Content-Type": "application/json"})
        connection.getresponse().read()
threads = [threading.Thread(target=worker) for _ in range(parallelism)]
started = time.perf_counter()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(time.perf_counter() - started)
"""


def bare_writes_seconds(stackguardian_url: str, org: str, api_key: str, connector_ids: Sequence[str],
                        parallelism: int) -> float:
    """Seconds a bare http.client loop takes for one PATCH per connector at ``parallelism``."""
    done = subprocess.run([sys.executable, "-c", _BARE_WRITES, stackguardian_url, org, api_key, str(parallelism),
                           *connector_ids], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())

