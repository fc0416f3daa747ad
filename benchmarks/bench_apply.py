"""Apply of a file of 1,000 connectors of which 200 changed, at --parallelism 8 with 20 ms StackGuardian latency.

Run: python benchmarks/bench_apply.py [--connectors 1000] [--changes 200] [--parallelism 8] [--latency-ms 20]
Seeds N managed connectors, then applies a file in which `--changes` of them have a new description:
that many PATCHes (no credential sent, so no preflight) after one listall scan. The floor is
writes x latency / parallelism; the whole command is measured against it: interpreter start-up,
imports, loading and parsing the file, the scan, the plans and fingerprints of all N, the writes.
`plan` of the same file (everything but the writes) is printed beside it, and so is the time the
same writes take from a bare http.client loop on as many threads: the emulator answers in Python
on the same two cores, so that, not the formula, is the floor any client can reach here. Not a
test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cli_bench_support import API_KEY, ORG, Bench, bare_writes_seconds, definitions_yaml

from sg_bitbucket_iac.emulator import Emulator

GOAL = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
        bench = Bench(emulator, Path(workdir))
        bench.seed(args.connectors, "v1")
        (Path(workdir) / "connectors.yaml").write_text(
            definitions_yaml(args.connectors, "v1", changed=args.changes, changed_description="v2"))
        bench.inject_latency(args.latency_ms)
        plan = bench.run(["plan", "-f", "connectors.yaml", "--json"])
        applied = bench.run(["apply", "-f", "connectors.yaml", "--auto-approve",
                             "--parallelism", str(args.parallelism), "--json"], {"SG_BITBUCKET_IAC_LOG": "info"})
        plan_wall, plan_stats = plan.wall, plan.stats
        code, apply_wall, stats = applied.code, applied.wall, applied.stats
        writes = sum(count for method, count in stats["by_method"].items() if method != "GET")
        floor = writes * args.latency_ms / 1000 / args.parallelism
        ratio = apply_wall / floor
        print(f"{args.connectors} connectors in the file, {args.changes} changed, --parallelism {args.parallelism}, "
              f"{args.latency_ms} ms latency per StackGuardian request, {os.cpu_count()} CPU(s), "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"  apply: exit {code}; {stats['total']} StackGuardian requests {dict(stats['by_method'])}")
        print(f"  apply wall {apply_wall:.2f} s (start-up, load, scan, fingerprints, plans and writes) against the "
              f"floor (writes x latency / parallelism) {floor:.2f} s: {ratio:.2f}x  "
              f"[goal <= {GOAL:.0f}x: {'ok' if ratio <= GOAL else 'MISSED'}]")
        bare = bare_writes_seconds(emulator.stackguardian_url, ORG, API_KEY,
                                   [f"conn-{index:05d}" for index in range(args.changes)], args.parallelism)
        print(f"  the same {writes} PATCHes from a bare http.client loop on {args.parallelism} threads (no start-up, "
              f"no plan): {bare:.2f} s, so this emulator's own floor; apply / that = {apply_wall / bare:.2f}x")
        phases = applied.phases()
        rest = apply_wall - sum(phases.values())
        print("  where the apply's time went (its SG_BITBUCKET_IAC_LOG=info lines): "
              + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
              + f"; interpreter, imports and the report {rest:.2f} s")
        print(f"  plan of the same file (all but the writes; {plan_stats['total']} requests) {plan_wall:.2f} s")
        print(f"  CPU of the CLI process: plan {plan.cpu:.2f} s, apply {applied.cpu:.2f} s (what load on the machine "
              "stretches; the writes' own floor is I/O)")
        if code != 0:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
