"""Sets: several definitions files in one org, each pruning and reporting only its own connectors (issue 22).

In-process CLI against the in-process emulator. Each file names its set (`set:`); the CLI tags what it
applies with `sg-bitbucket-iac/set`, and prune, "managed, not declared" and drift see only the file's set.
"""

from __future__ import annotations

import itertools
from typing import Any

from cli_helpers import InProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sg_bitbucket_iac.tags import OWNER_TAG, SET_TAG

API_KEY = "sgo_test_key"
POOLS = {"platform": ("plat-one", "plat-two", "plat-three"), "data": ("data-one", "data-two")}
_orgs = itertools.count(1)


def connector(name: str, *, adopt: bool = False) -> str:
    return (f"  - name: {name}\n    workspace: acme\n" + ("    adopt: true\n" if adopt else "") +
            '    auth: {type: api_token, username: alice, email: alice@acme.io, api_token: "${env:TOK_MAIN}"}\n')


def definitions(org: str, set_name: str | None, names: Any, *, prune: bool = True, adopt: tuple[str, ...] = ()) -> str:
    head = f"org: {org}\n" + (f"set: {set_name}\n" if set_name else "") + f"prune: {str(prune).lower()}\n"
    body = "".join(connector(n, adopt=n in adopt) for n in sorted(names))
    return head + ("connectors:\n" + body if body else "connectors: []\n")


def new_org(inproc: InProcess) -> str:
    org = f"sets{next(_orgs)}"
    inproc.emulator.admin("POST", "/orgs", {"org": org, "api_keys": [API_KEY]})
    return org


def records(inproc: InProcess, org: str) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in inproc.emulator.admin("GET", f"/stackguardian/orgs/{org}/integrations")["records"]}


def ids(names: Any) -> set[str]:
    return {name.replace("-", "_") for name in names}


# --------------------------------------------------------------------------- two files, one org
file_steps = st.sampled_from(sorted(POOLS)).flatmap(
    lambda set_name: st.tuples(st.just(set_name), st.frozensets(st.sampled_from(POOLS[set_name]))))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(file_steps, min_size=4, max_size=10))
def test_two_files_with_prune_applied_in_turn_never_touch_each_other(inproc: InProcess,
                                                                     steps: list[tuple[str, frozenset[str]]]) -> None:
    org = new_org(inproc)
    declared: dict[str, frozenset[str]] = {}
    for set_name, names in steps:
        declared[set_name] = names
        path = inproc.write(f"{org}-{set_name}.yaml", definitions(org, set_name, names))
        applied = inproc.cli("apply", "-f", str(path), "--auto-approve", "--json")
        assert applied.code == 0, applied.output
        assert applied.json()["set"] == set_name
        assert {r["connector_id"] for r in applied.json().get("results", ())} <= ids(POOLS[set_name])
        stored = records(inproc, org)
        for each in POOLS:
            tagged = {i for i, r in stored.items() if r["ContextTags"].get(SET_TAG) == each}
            assert tagged == ids(declared.get(each, ())), each
        assert set(stored) == ids(frozenset().union(*declared.values()))
        for each in declared:  # both files report no drift and nothing undeclared, after every apply
            other = str(inproc.tmp / f"{org}-{each}.yaml")
            drift = inproc.cli("drift", "-f", other, "--json")
            assert drift.code == 0, drift.output
            assert {c["connector_id"] for c in drift.json()["connectors"]} == ids(declared[each])
            assert {c["set"] for c in drift.json()["connectors"]} <= {each}
            plan = inproc.cli("plan", "-f", other, "--json", "--detailed-exitcode")
            assert plan.code == 0 and plan.json()["managed_not_declared"] == [], plan.output


# --------------------------------------------------------------------------- moving between sets
def test_a_connector_moves_between_sets_only_with_adopt_and_the_plan_says_so(inproc: InProcess) -> None:
    org = new_org(inproc)
    platform = inproc.write("platform.yaml", definitions(org, "platform", ["plat-one", "shared"]))
    assert inproc.cli("apply", "-f", str(platform), "--auto-approve").code == 0
    data = inproc.write("data.yaml", definitions(org, "data", ["data-one", "shared"]))
    writes = inproc.sg_writes()
    refused = inproc.cli("plan", "-f", str(data), "--json")
    assert refused.code == 1
    [error] = refused.json()["errors"]
    assert error["path"] == "connectors[1]"
    assert "set platform" in error["message"] and "adopt: true" in error["message"], error
    assert inproc.sg_writes() == writes

    data.write_text(definitions(org, "data", ["data-one", "shared"], adopt=("shared",)))
    plan = inproc.cli("plan", "-f", str(data), "--json")
    assert plan.code == 0, plan.output
    moving = {c["connector_id"]: c for c in plan.json()["connectors"]}["shared"]
    assert moving["action"] == "update" and moving["adopt"] is True
    assert any("moves from set platform to set data" in w for w in moving["warnings"]), moving
    table = inproc.cli("plan", "-f", str(data))
    assert "Set data:" in table.stdout and "moves from set platform to set data" in table.stdout, table.output
    assert inproc.cli("apply", "-f", str(data), "--auto-approve").code == 0
    assert records(inproc, org)["shared"]["ContextTags"][SET_TAG] == "data"

    # The old file still declares it: refused, not silently taken back; once it drops it, prune leaves it.
    assert inproc.cli("plan", "-f", str(platform)).code == 1
    platform.write_text(definitions(org, "platform", ["plat-one"]))
    pruned = inproc.cli("apply", "-f", str(platform), "--auto-approve", "--json")
    assert pruned.code == 0, pruned.output
    assert set(records(inproc, org)) == {"plat_one", "data_one", "shared"}
    for path in (platform, data):
        assert inproc.cli("drift", "-f", str(path)).code == 0
        assert inproc.cli("plan", "-f", str(path), "--detailed-exitcode").code == 0


def test_connectors_of_earlier_versions_are_in_set_default_and_move_with_adopt(inproc: InProcess) -> None:
    org = new_org(inproc)
    unnamed = inproc.write("old.yaml", definitions(org, None, ["plat-one", "plat-two"], prune=False))
    assert inproc.cli("apply", "-f", str(unnamed), "--auto-approve").code == 0
    assert records(inproc, org)["plat_one"]["ContextTags"][SET_TAG] == "default"
    # What an earlier version wrote: the owner, no set tag. Still set `default`.
    legacy = records(inproc, org)["plat_two"]["ContextTags"]
    del legacy[SET_TAG]
    inproc.emulator.admin("PATCH", f"/stackguardian/orgs/{org}/integrations/plat_two", {"ContextTags": legacy})
    named = inproc.write("named.yaml", definitions(org, "platform", ["plat-one"], adopt=("plat-one",)))
    plan = inproc.cli("plan", "-f", str(named), "--json")
    assert plan.code == 0, plan.output
    assert [(c["connector_id"], c["action"]) for c in plan.json()["connectors"]] == [("plat_one", "update")]
    assert plan.json()["managed_not_declared"] == []  # plat_two is set default's: never pruned from here
    assert inproc.cli("apply", "-f", str(named), "--auto-approve").code == 0
    stored = records(inproc, org)
    assert stored["plat_one"]["ContextTags"][SET_TAG] == "platform"
    assert stored["plat_two"]["ContextTags"][OWNER_TAG] == "cli" and SET_TAG not in stored["plat_two"]["ContextTags"]
    audit = inproc.cli("audit", "--org", org, "--json")
    assert {c["connector_id"]: c["set"] for c in audit.json()["connectors"]} == {
        "plat_one": "platform", "plat_two": "default"}
    assert audit.json()["summary"]["by_set"] == {"default": 1, "platform": 1}


# --------------------------------------------------------------------------- prune needs a set
def test_prune_without_a_set_of_its_own_is_refused_before_any_request(inproc: InProcess) -> None:
    org = new_org(inproc)
    before = inproc.sg_requests()
    for name, text in (("none.yaml", definitions(org, None, ["plat-one"])),
                       ("shared.yaml", definitions(org, "default", ["plat-one"]))):
        path = str(inproc.write(name, text))
        for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
            refused = inproc.cli(*command, "-f", path, "--json")
            assert refused.code == 1, refused.output
            [error] = refused.json()["errors"]
            assert error["path"] == "prune" and "set `default`" in error["message"], error
            assert "Add `set: NAME`" in error["message"]
    flag = inproc.cli("apply", "-f", str(inproc.write("flag.yaml", definitions(org, None, ["plat-one"], prune=False))),
                      "--auto-approve", "--prune")
    assert flag.code == 1 and "--prune refused" in flag.stderr and "set `default`" in flag.stderr, flag.output
    assert inproc.sg_requests() == before
    assert records(inproc, org) == {}


def test_a_set_name_follows_its_rule(inproc: InProcess) -> None:
    org = new_org(inproc)
    for bad in ('"two words"', "-lead", '"x/y"', "a" * 65, "12", "[a]"):
        path = inproc.write("bad.yaml", f"org: {org}\nset: {bad}\nconnectors: []\n")
        result = inproc.cli("validate", "-f", str(path), "--json")
        assert result.code == 1, bad
        [error] = result.json()["errors"]
        assert error["path"] == "set" and "A-Za-z0-9" in error["message"], error
    for good in ("platform", "team.a", "Team_1-x", "a" * 64):
        text = f"org: {org}\nset: {good}\nconnectors: []\n"
        assert inproc.cli("validate", "-f", str(inproc.write("good.yaml", text))).code == 0, good


# --------------------------------------------------------------------------- visible everywhere
def test_plan_drift_and_audit_show_the_set(inproc: InProcess) -> None:
    org = new_org(inproc)
    path = inproc.write("platform.yaml", definitions(org, "platform", ["plat-one"]))
    plan = inproc.cli("plan", "-f", str(path))
    assert "Set platform: this file manages the CLI's connectors of set platform" in plan.stdout
    assert inproc.cli("apply", "-f", str(path), "--auto-approve").code == 0
    drift = inproc.cli("drift", "-f", str(path), "--json")
    assert drift.json()["summary"]["set"] == "platform"
    assert [c["set"] for c in drift.json()["connectors"]] == ["platform"]
    table = inproc.cli("drift", "-f", str(path))
    assert "Set" in table.stdout and "platform" in table.stdout
    inproc.emulator.admin("PATCH", f"/stackguardian/orgs/{org}/integrations/plat_one", {"Description": "edited"})
    markdown = inproc.cli("drift", "-f", str(path), "--format", "markdown")
    assert markdown.code == 2
    assert "set `platform`" in markdown.stdout
    assert "| `plat_one` (`plat-one`) | `platform` | changed outside |" in markdown.stdout, markdown.stdout
    audit = inproc.cli("audit", "--org", org)
    assert "Set" in audit.stdout and "platform" in audit.stdout


def test_a_saved_plan_is_stale_when_the_set_changes(inproc: InProcess) -> None:
    org = new_org(inproc)
    path = inproc.write("platform.yaml", definitions(org, "platform", ["plat-one"]))
    saved = str(inproc.tmp / "plan.json")
    assert inproc.cli("plan", "-f", str(path), "--out", saved).code == 0
    path.write_text(definitions(org, "data", ["plat-one"]))
    stale = inproc.cli("apply", saved)
    assert stale.code == 1 and "set changed (platform -> data)" in stale.stderr, stale.output
    assert records(inproc, org) == {}
