"""Drift and audit over 1,000 managed connectors with 20 ms StackGuardian latency: requests and wall time.

Run: python benchmarks/bench_drift_audit.py [--connectors 1000] [--latency-ms 20] [--edited 10]
Both commands read the org with one `listall` scan (500 per page), never one GET per connector, so
StackGuardian sees at most 3 requests each. Drift's remaining time is the CPU cost of the credential
fingerprints it compares (scrypt by design, spread over the cores). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cli_bench_support import ORG, Bench, cli_startup_seconds, definitions_yaml

from sg_bitbucket_iac.emulator import Emulator

MAX_REQUESTS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--edited", type=int, default=10, help="connectors edited behind the tool's back")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
        bench = Bench(emulator, Path(workdir))
        bench.seed(args.connectors, "seeded")
        (Path(workdir) / "connectors.yaml").write_text(definitions_yaml(args.connectors, "seeded"))
        for index in range(args.edited):
            emulator.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/conn_{index:05d}",
                           {"Description": "edited in the UI"})
        bench.inject_latency(args.latency_ms)
        print(f"{args.connectors} managed connectors, {args.edited} edited outside, "
              f"{args.latency_ms} ms latency on every StackGuardian request; "
              f"CLI start-up (--help) {cli_startup_seconds():.2f} s")
        failures = 0
        for label, command, expected_exit in (
            ("drift", ["drift", "-f", "connectors.yaml", "--json"], 2 if args.edited else 0),
            ("audit", ["audit", "--json"], 0),
        ):
            code, elapsed, stats = bench.cli(command)
            requests = stats["total"]
            verdict = "ok" if requests <= MAX_REQUESTS and code == expected_exit else "FAIL"
            failures += verdict != "ok"
            print(f"  {label:5}: exit {code} (expected {expected_exit}), {requests} StackGuardian requests "
                  f"{dict(stats['by_route'])}, wall {elapsed:.2f} s  [{verdict}: requests <= {MAX_REQUESTS}]")
        if failures:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
