"""Drift and audit over 1,000 managed connectors with 20 ms StackGuardian latency: requests and wall time.

Run: python benchmarks/bench_drift_audit.py [--connectors 1000] [--latency-ms 20] [--edited 10]
Both commands read the org with one `listall` scan (500 per page), never one GET per connector, so
StackGuardian sees at most 3 requests each. Drift also loads the definitions and compares each
credential's fingerprint (keyed HMAC for Bitbucket-shaped tokens, see secrets/fingerprints.py): goal <= 2x audit.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cli_bench_support import ORG, Bench, cli_startup_seconds, definitions_yaml

from sg_bitbucket_iac.emulator import Emulator

MAX_REQUESTS = 3
RATIO_GOAL = 2.0


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
        walls: dict[str, float] = {}
        for label, command, expected_exit in (
            ("drift", ["drift", "-f", "connectors.yaml", "--json"], 2 if args.edited else 0),
            ("audit", ["audit", "--json"], 0),
        ):
            run = bench.run(command)
            requests = run.stats["total"]
            walls[label] = run.wall
            verdict = "ok" if requests <= MAX_REQUESTS and run.code == expected_exit else "FAIL"
            failures += verdict != "ok"
            print(f"  {label:5}: exit {run.code} (expected {expected_exit}), {requests} StackGuardian requests "
                  f"{dict(run.stats['by_route'])}, wall {run.wall:.2f} s, CPU {run.cpu:.2f} s  "
                  f"[{verdict}: requests <= {MAX_REQUESTS}]")
        ratio = walls["drift"] / walls["audit"]
        verdict = "ok" if ratio <= RATIO_GOAL else "MISSED"
        print(f"  drift / audit wall = {ratio:.2f}x  [goal <= {RATIO_GOAL:.0f}x: {verdict}]")
        if failures:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
