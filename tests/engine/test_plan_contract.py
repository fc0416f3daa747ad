"""Issue 20 in the engine, for every front: plans read only, checks meant for writing a credential refuse
only such writes, a replacement's name check leaves out what it replaces, odd records are drift."""

from __future__ import annotations

from typing import Any

import pytest
from seeding import seed_api_token, seed_credential, seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import Action, AppliedSnapshot, Engine
from sg_bitbucket_iac.engine.precheck import APP_PASSWORD_UNSUPPORTED
from sg_bitbucket_iac.errors import NameClashError, OddRecordError
from sg_bitbucket_iac.model import Connector, ConnectorValidationError, parse_connector
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.tags import OWNER_TAG
from sg_bitbucket_iac.wording import PULUMI_WORDING, TERRAFORM_WORDING, FrontWording

ORG = "acme"
KEY = "sgo_test_key"
RECORDS = f"/stackguardian/orgs/{ORG}/integrations"
BEFORE_CUTOFF, AFTER_CUTOFF = "2026-01-15T00:00:00Z", "2026-06-10T00:00:00Z"


@pytest.fixture
def secrets(emulator: Emulator, sentinel: str) -> dict[str, str]:
    seed_workspace(emulator)
    seed_api_token(emulator, sentinel)
    seed_credential(emulator, "app_password", sentinel + "-app", username="alice", workspaces=["acme"],
                    scopes=["account", "project", "repository", "pullrequest"])
    return {"api": sentinel, "app": sentinel + "-app"}


def engine_at(emulator: Emulator, clock: str, front: FrontWording = TERRAFORM_WORDING) -> Engine:
    client = StackGuardianClient(emulator.stackguardian_url, KEY, ORG, backoff=0.01)
    settings = Settings(bitbucket_api_url=emulator.bitbucket_url, clock=clock, preflight=False)
    return Engine(settings, front=front, client=client, preflight_backoff=0.01)


def connector(auth: dict[str, Any], **extra: Any) -> Connector:
    return parse_connector({"name": "bitbucket-main", "workspace": "acme", "auth": auth, **extra})


def api(token: str, **extra: Any) -> Connector:
    return connector({"type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": token}, **extra)


def legacy(password: str, **extra: Any) -> Connector:
    return connector({"type": "app_password", "username": "alice", "app_password": password}, **extra)


def sg_writes(emulator: Emulator) -> int:
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


def test_the_app_password_dates_refuse_creates_and_credential_writes_only(emulator: Emulator,
                                                                         secrets: dict[str, str]) -> None:
    before = engine_at(emulator, BEFORE_CUTOFF)
    declared = legacy(secrets["app"])
    applied = before.apply(declared, before.plan(declared)).snapshot
    after = engine_at(emulator, AFTER_CUTOFF)
    unchanged = after.plan(declared, applied=applied)  # nothing of the credential is written: a warning
    assert unchanged.action is Action.NOOP
    assert [w.rule for w in unchanged.warnings] == [APP_PASSWORD_UNSUPPORTED]
    renamed = after.plan(declared.model_copy(update={"description": "renamed"}), applied=applied)
    assert renamed.action is Action.UPDATE and not renamed.sends_credentials
    after.apply(declared, renamed)  # written, credential left alone
    with pytest.raises(ConnectorValidationError, match="2026-06-09"):  # a new password is a credential write
        after.plan(legacy(secrets["app"] + "-new"), applied=applied)
    with pytest.raises(ConnectorValidationError, match="2026-06-09"):  # and so is a create
        after.plan(legacy(secrets["app"], id="another_one", name="another"))
    # The same rule in the pre-write check the fronts run (Pulumi's check, Terraform's plan).
    kept = after.precheck(declared, creating=False, previous=declared)
    assert not kept.problems and kept.warnings
    assert after.precheck(legacy(secrets["app"] + "-new"), creating=False, previous=declared).problems


def test_a_replacement_create_leaves_out_the_connector_it_replaces(emulator: Emulator,
                                                                  secrets: dict[str, str]) -> None:
    engine = engine_at(emulator, BEFORE_CUTOFF)
    old = api(secrets["api"], id="main_v1")
    engine.apply(old, engine.plan(old))
    new = api(secrets["api"], id="main_v2")
    with pytest.raises(NameClashError, match="already used by connector main_v1"):
        engine.plan(new)
    assert engine.plan(new, replacing="main_v1").action is Action.CREATE
    with pytest.raises(NameClashError, match="already used by connector main_v1"):
        engine.plan(new, replacing="someone_else")


def test_taking_over_a_connector_nobody_owns_is_an_update_that_writes_the_owner(emulator: Emulator,
                                                                               secrets: dict[str, str]) -> None:
    engine = engine_at(emulator, BEFORE_CUTOFF)
    declared = api(secrets["api"])
    made_elsewhere = engine_at(emulator, BEFORE_CUTOFF, PULUMI_WORDING)
    made_elsewhere.apply(declared, made_elsewhere.plan(declared))
    record = emulator.admin("GET", f"{RECORDS}/bitbucket_main")
    emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {"ContextTags": {
        k: v for k, v in record["ContextTags"].items() if k != OWNER_TAG}})
    applied = AppliedSnapshot.of(declared, ORG)
    assert engine.plan(declared, applied=applied).action is Action.NOOP  # in state already: no take-over asked
    taking = engine.plan(declared, applied=applied, adopt=True)
    assert taking.action is Action.UPDATE and taking.adopt
    assert any("owned by no front; now owned by terraform" in w for w in taking.warnings)
    engine.apply(declared, taking)
    assert emulator.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"][OWNER_TAG] == "terraform"


def test_a_record_is_read_as_far_as_it_can_be_and_identity_must_be_readable(emulator: Emulator,
                                                                           secrets: dict[str, str]) -> None:
    engine = engine_at(emulator, BEFORE_CUTOFF)
    declared = api(secrets["api"])
    snapshot = engine.apply(declared, engine.plan(declared)).snapshot
    config = emulator.admin("GET", f"{RECORDS}/bitbucket_main")["Settings"]["config"][0]
    emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{**config, "bitbucketEmail": 123}]},
        "Authentication": {"authenticated": True, "authenticatedAt": 1e20}})
    with pytest.raises(OddRecordError):
        engine.read("bitbucket_main")
    observed, unreadable = engine.read_leniently("bitbucket_main")
    assert observed is not None and observed.name == "bitbucket-main" and observed.email is None
    assert unreadable is not None and len(unreadable.findings) == 2
    emulator.admin("DELETE", "/stats")
    plan = engine.plan(declared, applied=snapshot)  # reads leniently itself: the declaration is re-sent
    assert plan.action is Action.UPDATE and plan.sends_credentials
    assert any("could not be read in full" in c.note for c in plan.changes)
    assert sg_writes(emulator) == 0
    engine.apply(declared, plan)
    repaired = emulator.admin("GET", f"{RECORDS}/bitbucket_main")["Settings"]["config"][0]
    assert repaired["bitbucketEmail"] == "alice@acme.io"
    record = emulator.admin("GET", f"{RECORDS}/bitbucket_main")
    emulator.admin("PATCH", f"{RECORDS}/bitbucket_main", {"Settings": {**record["Settings"], "kind": True}})
    with pytest.raises(OddRecordError, match=r"Settings\.kind"):  # who it is cannot be read: refused, as before
        engine.read_leniently("bitbucket_main")
