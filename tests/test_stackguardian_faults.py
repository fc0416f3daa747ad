"""Every write converges under faults in ONE apply run: the fault matrix and a soak, on the real emulator.

The matrix: each fault kind (429, 5xx, timeout, dropped connection, and each of them after the write
was stored) on each write (create, update, delete), each in one apply of six connectors (two created,
two updated with a rotated secret, two pruned). The soak: 100 connectors created, then 60 updated and
40 deleted, with 20 % of StackGuardian requests faulted at random. After each apply: no duplicate, no
lost update (every record holds exactly the declared values and secret), nothing deleted survives,
and a second plan has nothing to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from sg_bitbucket_iac.cli.commands.common import run_bounded
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import Action, Engine
from sg_bitbucket_iac.model import Connector, parse_connector
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wording import CLI_WORDING

ORG = "acme"
KEY = "sgo_test_key"
READ_TIMEOUT = 0.4  # seconds; a "timeout" fault delays the answer well past it
SLOW_MS = 1200


def connector(name: str, description: str, secret: str) -> Connector:
    return parse_connector({"name": name, "workspace": "acme", "description": description, "tags": ["soak"],
                            "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io",
                                     "api_token": secret}})


def make_engine(emulator: Emulator, *, retries: int = 4) -> Engine:
    client = StackGuardianClient(emulator.stackguardian_url, KEY, ORG, timeout=(2.0, READ_TIMEOUT),
                                 retries=retries, backoff=0.01)
    settings = Settings(bitbucket_api_url=emulator.bitbucket_url, preflight=False, clock="2026-01-15T00:00:00Z")
    return Engine(settings, front=CLI_WORDING, client=client)


def settled(emulator: Emulator) -> None:
    """Until every request the emulator is still answering has been answered: a write whose client gave
    up on its slow answer (and retried) lands late, and the next apply must not race it (a late create
    would bring back a connector the next apply deleted; a real service would do the same)."""
    for _ in range(200):
        if emulator.admin("GET", "/stats")["stackguardian"]["in_flight"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the emulator is still answering requests after 10 s")


def apply_once(engine: Engine, desired: Sequence[Connector], prune: Sequence[str], *,
               parallelism: int) -> list[Any]:
    """One apply run as the CLI does it: one listall, a plan per connector, writes in parallel."""
    observed = {o.id: o for o in engine.list_observed()}
    items = [(c, engine.plan(c, observed=observed.get(c.connector_id), refresh=False), observed.get(c.connector_id))
             for c in desired]
    items += [(None, engine.plan(None, observed=observed[i], refresh=False), observed[i]) for i in prune]
    changes = [item for item in items if item[1].has_changes]
    return run_bounded(changes, lambda it: engine.apply(it[0], it[1], observed=it[2]), parallelism=parallelism)


@dataclass
class Convergence:
    records: int
    duplicates: int
    lost_updates: int
    survivors: int  # deleted connectors still there


def convergence(emulator: Emulator, desired: Sequence[Connector], secrets: dict[str, str],
                deleted: Sequence[str]) -> Convergence:
    records = emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    by_id = {r["Id"]: r for r in records}
    names = [r["ResourceName"] for r in records]
    expected = {c.connector_id for c in desired}
    duplicates = (len(names) - len(set(names))) + len([r for r in records if r["Id"] not in expected | set(deleted)])
    lost = 0
    for wanted in desired:
        record = by_id.get(wanted.connector_id)
        if record is None:
            lost += 1
            continue
        config = record["Settings"]["config"][0]
        if (record["ResourceName"] != wanted.name or record.get("Description") != wanted.description
                or config.get("bitbucketCreds") != f"alice:{secrets[wanted.connector_id]}"
                or record.get("ContextTags", {}).get("sg-bitbucket-iac/managed") != "true"):
            lost += 1
    return Convergence(len(records), duplicates, lost, len([i for i in deleted if i in by_id]))


def assert_plans_clean(engine: Engine, desired: Sequence[Connector]) -> None:
    observed = {o.id: o for o in engine.list_observed()}
    actions = {c.connector_id: engine.plan(c, observed=observed.get(c.connector_id), refresh=False).action
               for c in desired}
    assert set(actions.values()) == {Action.NOOP}, actions


FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "headers": {"Retry-After": "0"}},
    "503": {"status": 503},
    "timeout": {"latency_ms": SLOW_MS},
    "dropped": {"drop": True},
    "429-after-store": {"status": 429, "after": True, "headers": {"Retry-After": "0"}},
    "500-after-store": {"status": 500, "after": True},
    "timeout-after-store": {"latency_ms": SLOW_MS, "after": True},
    "dropped-after-store": {"drop": True, "after": True},
}
OPERATIONS = {"create": ("POST", r"integrations/?$"), "update": ("PATCH", r"integrations/[^/]+/?$"),
              "delete": ("DELETE", r"integrations/[^/]+/?$")}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_matrix_converges_in_one_apply(
    emulator: Emulator, sentinel: str, operation: str, fault: str
) -> None:
    engine = make_engine(emulator)
    before = [connector(f"upd-{i}", "before", f"{sentinel}-old-{i}") for i in range(2)]
    doomed = [connector(f"del-{i}", "doomed", f"{sentinel}-del-{i}") for i in range(2)]
    assert all(not isinstance(o, Exception) for o in apply_once(engine, [*before, *doomed], (), parallelism=1))

    method, path = OPERATIONS[operation]
    # Two faulted requests of this method: both may hit one connector's attempts, or one each.
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": method, "path_regex": path,
                                       "times": 2, **FAULTS[fault]})
    secrets = {f"new_{i}": f"{sentinel}-new-{i}" for i in range(2)} | {f"upd_{i}": f"{sentinel}-rotated-{i}"
                                                                       for i in range(2)}
    desired = [connector(f"new-{i}", "created", secrets[f"new_{i}"]) for i in range(2)]
    desired += [connector(f"upd-{i}", "after", secrets[f"upd_{i}"]) for i in range(2)]
    outcomes = apply_once(engine, desired, [c.connector_id for c in doomed], parallelism=1)

    failures = [repr(o) for o in outcomes if isinstance(o, Exception)]
    assert failures == [], failures
    fired = 2 - sum(f["times"] for f in emulator.admin("GET", "/faults")["faults"])
    assert fired >= 1  # the fault really was met
    result = convergence(emulator, desired, secrets, [c.connector_id for c in doomed])
    assert (result.records, result.duplicates, result.lost_updates, result.survivors) == (4, 0, 0, 0)
    emulator.admin("DELETE", "/faults")
    assert_plans_clean(engine, desired)
    assert sentinel not in repr(outcomes)


def faults_fired(emulator: Emulator) -> int:
    return sum(10**6 - f["times"] for f in emulator.admin("GET", "/faults")["faults"])


def test_soak_100_connectors_at_20_percent_random_faults(
    emulator_factory: Callable[..., Emulator], sentinel: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = emulator_factory(random_seed=20261201)
    # 20 % faults make runs of consecutive faults on one request likely somewhere among ~1,000
    # requests; a budget of 8 retries keeps a give-up (0.2**9 per request) out of the test's way.
    engine = make_engine(emulator, retries=8)
    _add_soak_faults(emulator, 0.20)
    secrets = {f"soak_{i:03d}": f"{sentinel}-soak-{i:03d}" for i in range(100)}
    desired = [connector(f"soak-{i:03d}", "first", secrets[f"soak_{i:03d}"]) for i in range(100)]
    outcomes = apply_once(engine, desired, (), parallelism=8)
    settled(emulator)
    created_faults = faults_fired(emulator)
    assert [repr(o) for o in outcomes if isinstance(o, Exception)] == []
    first = convergence(emulator, desired, secrets, ())

    kept, dropped = desired[:60], desired[60:]
    secrets.update({c.connector_id: f"{sentinel}-rotated-{c.connector_id}" for c in kept})
    updated = [connector(c.name, "second", secrets[c.connector_id]) for c in kept]
    outcomes = apply_once(engine, updated, [c.connector_id for c in dropped], parallelism=8)
    settled(emulator)
    total_faults = faults_fired(emulator)
    assert [repr(o) for o in outcomes if isinstance(o, Exception)] == []
    second = convergence(emulator, updated, secrets, [c.connector_id for c in dropped])
    requests = emulator.admin("GET", "/stats")["stackguardian"]["total"]
    with capsys.disabled():
        print(f"\nsoak: 100 connectors; {requests} StackGuardian requests, {total_faults} faulted "
              f"({created_faults} during the creates); after create: {first}; after update/delete: {second}")
    assert (first.records, first.duplicates, first.lost_updates) == (100, 0, 0)
    assert (second.records, second.duplicates, second.lost_updates, second.survivors) == (60, 0, 0, 0)
    assert 0.1 < total_faults / requests < 0.3  # the rate really was about 20 %
    emulator.admin("DELETE", "/faults")
    assert_plans_clean(engine, updated)


def _add_soak_faults(emulator: Emulator, rate: float) -> None:
    share = rate / 5
    taken = 0.0
    for kind in (FAULTS["429-after-store"], FAULTS["503"], FAULTS["500-after-store"], FAULTS["dropped"]):
        emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations", "times": 10**6,
                                           "probability": share / (1 - taken), **kind})
        taken += share
    # Latency rules draw on their own: P(slow) * P(no status fault) = share makes the total `rate`.
    emulator.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "integrations", "times": 10**6,
                                       "probability": share / (1 - taken), "latency_ms": SLOW_MS})


def test_two_concurrent_applies_of_the_same_definitions_both_succeed(emulator: Emulator, sentinel: str) -> None:
    """Both plan "create", both POST; the loser's "already exists" is looked up and accepted as ours."""
    import threading

    secrets = {f"race_{i}": f"{sentinel}-race-{i}" for i in range(10)}
    desired = [connector(f"race-{i}", "raced", secrets[f"race_{i}"]) for i in range(10)]
    engines = [make_engine(emulator), make_engine(emulator)]
    plans = [[e.plan(c, observed=None, refresh=False) for c in desired] for e in engines]
    results: list[list[Any]] = [[], []]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        start.wait()
        engine = engines[index]
        results[index] = run_bounded(list(zip(desired, plans[index], strict=True)),
                                     lambda item: engine.apply(item[0], item[1]), parallelism=4)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [repr(o) for r in results for o in r if isinstance(o, Exception)] == []
    result = convergence(emulator, desired, secrets, ())
    assert (result.records, result.duplicates, result.lost_updates) == (10, 0, 0)
    posts = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]["POST"]
    assert posts == 20  # both really did try to create every one


def test_create_after_a_batched_scan_still_finds_what_a_lost_answer_stored(emulator: Emulator, sentinel: str) -> None:
    """The lookup after a failed create is a fresh GET: a batched reader's earlier scan does not answer it."""
    from sg_bitbucket_iac.batch_read import BatchedClient
    from sg_bitbucket_iac.wire import to_create_payload

    client = BatchedClient(emulator.stackguardian_url, KEY, ORG, timeout=(2.0, READ_TIMEOUT), retries=4,
                           backoff=0.01)
    assert client.find("not_there") is None  # a complete scan of the (empty) org, kept fresh for a while
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": r"integrations/?$",
                                       "status": 503, "after": True, "times": 1})
    record = client.create(to_create_payload(connector("batched", "x", f"{sentinel}-batched"), {}))
    assert record["Id"] == "batched"
    assert [r["Id"] for r in emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]] == [
        "batched"]
