"""Start-up of the two console scripts, against `python -c "import requests"` measured in the same run.

Run: python benchmarks/bench_startup.py [--runs 7]
* `terraform-provider-sgbitbucket`: time from exec to the go-plugin handshake line on stdout (what
  Terraform waits for before it sends the first RPC). Goal: <= 2x `import requests`.
* `sg-bitbucket --help`: the whole process. Goal: < 0.1 s.
The runs interleave (one of each per round) and each figure is the median, so load on the machine
affects every side alike. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run_seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started


def handshake_seconds(home: str) -> float:
    """Exec to the handshake line; then the provider is stopped (by its PID, as Terraform would)."""
    env = {**os.environ, "HOME": home}
    started = time.perf_counter()
    process = subprocess.Popen([str(BIN / "terraform-provider-sgbitbucket")], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        if not line.startswith(b"1|6|unix|"):
            raise SystemExit(f"unexpected handshake line: {line[:40]!r}")
        return elapsed
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"python -c pass": [], "python -c 'import requests'": [],
                                       "terraform-provider-sgbitbucket handshake": [], "sg-bitbucket --help": []}
    with tempfile.TemporaryDirectory() as home:
        handshake_seconds(home)  # first run writes tf's cached TLS certificate, as Terraform's first run does
        for _ in range(args.runs):
            samples["python -c pass"].append(run_seconds([sys.executable, "-c", "pass"]))
            samples["python -c 'import requests'"].append(run_seconds([sys.executable, "-c", "import requests"]))
            samples["terraform-provider-sgbitbucket handshake"].append(handshake_seconds(home))
            samples["sg-bitbucket --help"].append(run_seconds([str(BIN / "sg-bitbucket"), "--help"]))
    median = {label: statistics.median(values) for label, values in samples.items()}
    print(f"start-up, median of {args.runs} interleaved runs, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    for label, value in median.items():
        print(f"  {label:42} {value * 1000:7.0f} ms")
    requests_time = median["python -c 'import requests'"]
    handshake = median["terraform-provider-sgbitbucket handshake"]
    helptime = median["sg-bitbucket --help"]
    print(f"  provider handshake / import requests = {handshake / requests_time:.2f}x  [goal <= 2x: "
          f"{'ok' if handshake <= 2 * requests_time else 'MISSED'}]")
    print(f"  sg-bitbucket --help = {helptime:.3f} s  [goal < 0.1 s: {'ok' if helptime < 0.1 else 'MISSED'}]; "
          f"beyond a bare interpreter (python -c pass): {helptime - median['python -c pass']:.3f} s")


if __name__ == "__main__":
    main()
