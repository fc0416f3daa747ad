"""Apply of 200 changes at --parallelism 8 with 20 ms StackGuardian latency, against the latency floor.

Run: python benchmarks/bench_apply.py [--changes 200] [--parallelism 8] [--latency-ms 20]
Seeds N managed connectors, then applies a file that changes every description: N PATCHes (no
credential sent, so no preflight) after one listall. The floor is requests x latency / parallelism.
`plan` of the same file does everything apply does except the writes (start-up, loading, the
listall, the credential fingerprints it compares: scrypt, slow on purpose), so apply minus plan is
the time the writes took, to read against their own floor. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cli_bench_support import Bench, definitions_yaml

from sg_bitbucket_iac.emulator import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
        bench = Bench(emulator, Path(workdir))
        bench.seed(args.changes, "v1")
        (Path(workdir) / "connectors.yaml").write_text(definitions_yaml(args.changes, "v2"))
        bench.inject_latency(args.latency_ms)
        _, plan_wall, _ = bench.cli(["plan", "-f", "connectors.yaml", "--json"])
        code, apply_wall, stats = bench.cli(["apply", "-f", "connectors.yaml", "--auto-approve",
                                             "--parallelism", str(args.parallelism), "--json"])
        requests = stats["total"]
        writes = requests - 1  # one listall
        floor = requests * args.latency_ms / 1000 / args.parallelism
        writes_floor = writes * args.latency_ms / 1000 / args.parallelism
        writes_wall = apply_wall - plan_wall
        print(f"{args.changes} changes, --parallelism {args.parallelism}, {args.latency_ms} ms latency per "
              f"StackGuardian request, {os.cpu_count()} CPU(s)")
        print(f"  apply: exit {code}; {requests} StackGuardian requests {dict(stats['by_method'])}")
        print(f"  apply wall {apply_wall:.2f} s against the floor (requests x latency / parallelism) {floor:.2f} s "
              f"({apply_wall / floor:.1f}x)")
        print(f"  plan of the same file (all but the writes: start-up, listall, fingerprints) {plan_wall:.2f} s")
        print(f"  the {writes} writes: ~{writes_wall:.2f} s against their floor {writes_floor:.2f} s "
              f"({writes_wall / writes_floor:.1f}x)")
        if code != 0:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
