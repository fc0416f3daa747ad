"""`audit` and `drift` at 1,000 and 10,000 managed connectors: time stays linear, peak memory < 250 MB.

Run: python benchmarks/bench_scale.py [--sizes 1000 10000] [--latency-ms 20]
For each size, one emulator is seeded with that many managed connectors (and a definitions file
declaring them all); drift and audit then run as subprocesses. Printed per command: wall and CPU
seconds, the CLI process's own peak RSS (wait4), StackGuardian requests; then the large/small
ratio of CPU time against the size ratio (linear: about the same; quadratic: size ratio squared).
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cli_bench_support import Bench, CliRun, definitions_yaml

from sg_bitbucket_iac.emulator import Emulator

MEMORY_GOAL_MB = 250


def measure(size: int, latency_ms: int) -> dict[str, CliRun]:
    with tempfile.TemporaryDirectory() as workdir, Emulator() as emulator:
        bench = Bench(emulator, Path(workdir))
        bench.seed(size, "seeded")
        (Path(workdir) / "connectors.yaml").write_text(definitions_yaml(size, "seeded"))
        bench.inject_latency(latency_ms)
        return {"drift": bench.run(["drift", "-f", "connectors.yaml", "--json"]),
                "audit": bench.run(["audit", "--json"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    small, large = args.sizes
    print(f"{os.cpu_count()} CPU(s), {args.latency_ms} ms latency per StackGuardian request, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {size: measure(size, args.latency_ms) for size in (1, small, large)}
    failures = 0
    for size, runs in results.items():
        for label, run in runs.items():
            if size == 1:
                continue
            ok = run.code in (0, 2) and run.max_rss_mb < MEMORY_GOAL_MB
            failures += not ok
            print(f"  {size:>6} {label}: exit {run.code}, wall {run.wall:6.2f} s, CPU {run.cpu:6.2f} s, "
                  f"peak RSS {run.max_rss_mb:6.1f} MB, {run.stats['total']} StackGuardian requests  "
                  f"[{'ok' if ok else 'MISSED'}: < {MEMORY_GOAL_MB} MB]")
    for label in ("drift", "audit"):
        base, a, b = results[1][label], results[small][label], results[large][label]
        per_small = (a.cpu - base.cpu) / (small - 1) * 1000
        per_large = (b.cpu - base.cpu) / (large - 1) * 1000
        print(f"  {label}: CPU beyond the 1-connector run, per 1,000 connectors: {per_small:.2f} s at {small}, "
              f"{per_large:.2f} s at {large} ({per_large / per_small:.2f}x; linear = 1x, quadratic = "
              f"{large / small:.0f}x); {large}/{small} ratios: CPU {b.cpu / a.cpu:.1f}x, wall {b.wall / a.wall:.1f}x")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
