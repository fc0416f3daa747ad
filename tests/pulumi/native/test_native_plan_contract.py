"""The native provider keeps issue 20's contract (driven in this process as the engine drives it): Check,
Diff and Read send StackGuardian only GETs (an `adopt` take-over moves the owner at Update/Create, which
`pulumi up` runs); checks meant for writing a credential never refuse a connector left as it is; a record
with odd fields is drift, refreshed as far as it can be read and repaired by the next write.
"""

from __future__ import annotations

import pytest
from native_driver import Driver, plain, unwrap
from seeding import seed_credential

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG

RECORDS = "/stackguardian/orgs/acme/integrations"
AFTER_CUTOFF = "2026-06-10T00:00:00Z"


def api(token: str, **extra: object) -> dict[str, object]:
    return {"name": "bitbucket-main", "workspace": "acme", "authType": "api_token", "username": "alice",
            "email": "alice@acme.io", "apiToken": token, **extra}


def verbs(emulator: Emulator) -> set[str]:
    return set(emulator.admin("GET", "/stats")["stackguardian"]["by_method"])


def retag(emulator: Emulator, connector_id: str, **tags: str) -> None:
    record = emulator.admin("GET", f"{RECORDS}/{connector_id}")
    emulator.admin("PATCH", f"{RECORDS}/{connector_id}", {"ContextTags": {**record["ContextTags"], **tags}})


def test_planning_reads_only_and_a_take_over_moves_the_owner_at_up(driver: Driver, emulator: Emulator,
                                                                   tokens: dict[str, str]) -> None:
    state = unwrap(plain(driver.create(api(tokens["api"])).properties))
    retag(emulator, "bitbucket_main", **{OWNER_TAG: "cli"})
    emulator.admin("DELETE", "/stats")
    # `pulumi preview` / `refresh` / `import` of a connector another front owns, `adopt: true` declared:
    assert not driver.check(api(tokens["api"], adopt=True), olds=api(tokens["api"])).failures
    assert not driver.check(api(tokens["api"], adopt=True)).failures  # as a create (the `import` option)
    driver.diff("bitbucket_main", state, api(tokens["api"], adopt=True))
    refreshed = driver.read("bitbucket_main", state, api(tokens["api"]))
    imported = driver.read("bitbucket_main")
    assert unwrap(plain(imported.inputs))["adopt"] is True  # the generated code takes it over ...
    driver.update("bitbucket_main", state, api(tokens["api"], adopt=True), preview=True)
    assert verbs(emulator) == {"GET"}  # ... and nothing moved yet
    assert emulator.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"
    driver.update("bitbucket_main", unwrap(plain(refreshed.properties)), api(tokens["api"], adopt=True))
    assert emulator.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"][OWNER_TAG] == "pulumi"


def test_a_record_with_odd_fields_is_drift_that_the_next_up_repairs(
        driver: Driver, emulator: Emulator, tokens: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    state = unwrap(plain(driver.create(api(tokens["api"])).properties))
    config = emulator.admin("GET", f"{RECORDS}/bitbucket_main")["Settings"]["config"][0]
    emulator.admin("PATCH", f"{RECORDS}/bitbucket_main",
                   {"Settings": {"kind": "BITBUCKET_ORG", "config": [{**config, "bitbucketEmail": 123}]}})
    emulator.admin("DELETE", "/stats")
    read = driver.read("bitbucket_main", state, api(tokens["api"]))
    assert read.id == "bitbucket_main" and verbs(emulator) == {"GET"}  # kept in state, nothing written
    outs = unwrap(plain(read.properties))
    assert outs["name"] == "bitbucket-main" and outs["credentialsFingerprint"] is None  # re-sent at the next up
    said = " ".join(capsys.readouterr().err.split())
    assert "Settings.config[0].bitbucketEmail is a number, not a string" in said, said
    assert "the next `pulumi up` re-sends the declaration, which repairs the record" in said
    diff = driver.diff("bitbucket_main", outs, api(tokens["api"]))
    assert diff.changes == diff.DIFF_SOME
    driver.update("bitbucket_main", outs, api(tokens["api"]))
    repaired = emulator.admin("GET", f"{RECORDS}/bitbucket_main")["Settings"]["config"][0]
    assert repaired["bitbucketEmail"] == "alice@acme.io"


def test_checks_meant_for_writing_a_credential_never_refuse_one_left_as_it_is(
        driver: Driver, emulator: Emulator, tokens: dict[str, str], sentinel: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """After StackGuardian's cut-off, an app-password connector whose credential is not written is only
    warned about (the dates refuse a credential write); a new one is refused; either can be deleted."""
    emulator.admin("POST", "/clock", {"now": "2026-01-15T00:00:00Z"})  # Bitbucket still takes app passwords
    seed_credential(emulator, "app_password", sentinel + "-app", username="bob", workspaces=["acme"],
                    scopes=["account", "project"])
    legacy = {"name": "legacy", "workspace": "acme", "authType": "app_password", "username": "bob",
              "appPassword": sentinel + "-app"}
    state = unwrap(plain(driver.create(legacy).properties))
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", AFTER_CUTOFF)
    emulator.admin("POST", "/clock", {"now": AFTER_CUTOFF})
    driver.configure(emulator)  # the next run, after the cut-off
    kept = driver.check({**legacy, "description": "renamed team"}, olds=legacy)
    assert not kept.failures
    assert "2026-06-09" in capsys.readouterr().err
    refused = driver.check({**legacy, "name": "legacy-2"})
    assert [f.property for f in refused.failures] == ["authType"] and "2026-06-09" in refused.failures[0].reason
    driver.delete("legacy", state)
    assert emulator.admin("GET", RECORDS)["records"] == []
