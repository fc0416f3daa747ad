"""List 1,000 connectors through the emulator with injected latency; print requests and wall time.

Run: python benchmarks/bench_list.py [--connectors 1000] [--latency-ms 20]
Compares page sizes: the client's default (limit=500) against StackGuardian's default page (50),
so the ratio shows what paging at the maximum buys. Not a test: it only prints figures.
"""

from __future__ import annotations

import argparse
import time

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.stackguardian import StackGuardianClient

ORG = "bench"
KEY = "sgo_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()

    with Emulator() as emu:
        emu.admin("POST", "/orgs", {"org": ORG, "api_keys": [KEY]})
        records = [
            {"Id": f"conn_{i:05d}", "ResourceName": f"conn-{i:05d}",
             "Settings": {"kind": "BITBUCKET_ORG",
                          "config": [{"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": f"t{i}"}]}}
            for i in range(args.connectors)
        ]
        emu.admin("POST", f"/stackguardian/orgs/{ORG}/integrations/bulk", {"records": records})
        emu.admin("POST", "/faults", {"api": "stackguardian", "path_regex": ".*", "latency_ms": args.latency_ms})
        client = StackGuardianClient(emu.stackguardian_url, KEY, ORG)
        print(f"{args.connectors} connectors, {args.latency_ms} ms injected latency per StackGuardian request")
        results = []
        for limit in (500, 50):
            emu.admin("DELETE", "/stats")
            started = time.perf_counter()
            count = sum(1 for _ in client.list_all(limit=limit))
            elapsed = time.perf_counter() - started
            requests_made = emu.admin("GET", "/stats")["stackguardian"]["total"]
            results.append((limit, count, requests_made, elapsed))
            print(f"  limit={limit:>3}: {count} connectors, {requests_made:>3} requests, {elapsed * 1000:7.1f} ms")
        (_, _, fast_requests, fast_time), (_, _, slow_requests, slow_time) = results
        print(f"  limit=500 makes {slow_requests / fast_requests:.1f}x fewer requests and is "
              f"{slow_time / fast_time:.1f}x faster than limit=50")


if __name__ == "__main__":
    main()
