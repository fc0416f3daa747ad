"""Engine planning and drift classification as pure functions (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sg_bitbucket_iac.engine import (
    Action,
    AppliedSnapshot,
    DriftStatus,
    classify_drift,
    plan_connector,
)
from sg_bitbucket_iac.model import Connector, parse_connector
from sg_bitbucket_iac.wire import ObservedConnector, observed_from_record

SENTINEL = "SENTINEL-plan-00112233445566778899"
ORG = "acme"
NOW = datetime(2026, 1, 15, tzinfo=UTC)


def api_token(token: str = SENTINEL, **extra: Any) -> Connector:
    data: dict[str, Any] = {"name": "bitbucket-main", "workspace": "acme", "description": "Main",
                            "tags": ["platform"],
                            "auth": {"type": "api_token", "username": "alice", "email": "alice@acme.io",
                                     "api_token": token}}
    data.update(extra)
    return parse_connector(data)


def access_token(token: str = SENTINEL + "-at") -> Connector:
    return parse_connector({"name": "bitbucket-main", "workspace": "acme", "description": "Main",
                            "tags": ["platform"],
                            "auth": {"type": "access_token", "access_token": token, "repository": "infra"}})


def observed_of(connector: Connector, **overrides: Any) -> ObservedConnector:
    config: dict[str, Any] = {"bitbucketAuthType": connector.auth_type.wire}
    if connector.auth_type.value == "api_token":
        config.update(bitbucketCreds="********", bitbucketEmail=connector.auth.email)  # type: ignore[union-attr]
    elif connector.auth_type.value == "access_token":
        config.update(bitbucketAccessToken="********")
    else:
        config.update(bitbucketCreds="********")
    record: dict[str, Any] = {
        "Id": connector.connector_id, "ResourceName": connector.name, "Description": connector.description,
        "Tags": list(connector.tags), "ContextTags": {"sg-bitbucket-iac/workspace": connector.workspace},
        "Settings": {"kind": "BITBUCKET_ORG", "config": [config]},
        "Authentication": {"authenticated": True, "authenticatedAt": 1},
        "CreatedAt": 1, "ModifiedAt": 2,
    }
    record.update(overrides)
    return observed_from_record(record)


def test_create_when_absent_lists_fields_with_secret_marked() -> None:
    desired = api_token()
    plan = plan_connector(desired, org=ORG, applied=None, observed=None)
    assert plan.action is Action.CREATE and plan.sends_credentials
    by_field = {c.field: c for c in plan.changes}
    assert by_field["auth.api_token"].sensitive
    assert by_field["auth.api_token"].to_dict()["after"] == "(sensitive)"
    assert SENTINEL not in repr(plan.to_dict())


def test_no_change_is_noop() -> None:
    desired = api_token()
    plan = plan_connector(desired, org=ORG, applied=AppliedSnapshot.of(desired, ORG), observed=observed_of(desired))
    assert plan.action is Action.NOOP and plan.changes == []


def test_rotation_within_a_type_updates_only_the_secret() -> None:
    before = api_token()
    after = api_token(token=SENTINEL + "-rotated")
    plan = plan_connector(after, org=ORG, applied=AppliedSnapshot.of(before, ORG), observed=observed_of(before))
    assert plan.action is Action.UPDATE and plan.sends_credentials and not plan.full_credential_replacement
    assert [c.field for c in plan.changes] == ["auth.api_token"]
    assert plan.changes[0].note == "rotated"


def test_auth_type_switch_is_an_update_listing_every_credential_field() -> None:
    before = api_token()
    after = access_token()
    plan = plan_connector(after, org=ORG, applied=AppliedSnapshot.of(before, ORG), observed=observed_of(before))
    assert plan.action is Action.UPDATE
    assert plan.full_credential_replacement and plan.sends_credentials
    fields = {c.field: c for c in plan.changes}
    assert fields["auth.type"].before == "api_token" and fields["auth.type"].after == "access_token"
    assert fields["auth.email"].before == "alice@acme.io" and fields["auth.email"].after is None
    assert fields["auth.api_token"].sensitive and fields["auth.api_token"].after is None
    assert fields["auth.access_token"].sensitive and fields["auth.access_token"].before is None
    assert fields["auth.repository"].after == "infra"


def test_non_secret_change_does_not_send_credentials() -> None:
    desired = api_token(description="New text")
    old = api_token()
    plan = plan_connector(desired, org=ORG, applied=AppliedSnapshot.of(old, ORG), observed=observed_of(old))
    assert plan.action is Action.UPDATE and not plan.sends_credentials
    assert [c.field for c in plan.changes] == ["description"]


def test_id_or_org_change_is_a_replace() -> None:
    old = api_token()
    new = api_token(id="other_id")
    plan = plan_connector(new, org=ORG, applied=AppliedSnapshot.of(old, ORG), observed=None)
    assert plan.action is Action.REPLACE and "Id" in plan.replace_reason
    plan = plan_connector(old, org="other-org", applied=AppliedSnapshot.of(old, ORG), observed=observed_of(old))
    assert plan.action is Action.REPLACE and "org" in plan.replace_reason


def test_deleted_outside_plans_a_create_with_a_warning() -> None:
    desired = api_token()
    plan = plan_connector(desired, org=ORG, applied=AppliedSnapshot.of(desired, ORG), observed=None)
    assert plan.action is Action.CREATE and plan.warnings


def test_delete_and_noop_delete() -> None:
    old = api_token()
    assert plan_connector(None, org=ORG, applied=None, observed=observed_of(old)).action is Action.DELETE
    assert plan_connector(None, org=ORG, applied=None, observed=None).action is Action.NOOP


def test_unknown_fingerprint_resends_the_secret() -> None:
    desired = api_token()
    plan = plan_connector(desired, org=ORG, applied=None, observed=observed_of(desired), adopt=True)
    assert plan.action is Action.UPDATE and plan.adopt and plan.sends_credentials


def test_drift_changed_outside_apart_from_not_yet_applied() -> None:
    applied_conn = api_token()
    observed = observed_of(applied_conn, Description="edited in the UI")
    desired = api_token(tags=["platform", "prod"])
    report = classify_drift(desired, org=ORG, applied=AppliedSnapshot.of(applied_conn, ORG), observed=observed,
                            at=NOW)
    assert report.statuses == [DriftStatus.CHANGED_OUTSIDE, DriftStatus.NOT_YET_APPLIED]
    assert [c.field for c in report.changed_outside] == ["description"]
    assert [c.field for c in report.not_yet_applied] == ["tags"]


def test_drift_deleted_outside_and_failing_credentials() -> None:
    desired = api_token()
    snapshot = AppliedSnapshot.of(desired, ORG)
    gone = classify_drift(desired, org=ORG, applied=snapshot, observed=None, at=NOW)
    assert gone.statuses == [DriftStatus.DELETED_OUTSIDE]
    failing = classify_drift(desired, org=ORG, applied=snapshot, at=NOW,
                             observed=observed_of(desired, Authentication={"authenticated": False}))
    assert failing.statuses == [DriftStatus.CREDENTIALS_FAILING]
    clean = classify_drift(desired, org=ORG, applied=snapshot, observed=observed_of(desired), at=NOW)
    assert clean.statuses == [DriftStatus.IN_SYNC] and not clean.drifted


def test_rotation_pending_is_not_yet_applied() -> None:
    applied_conn = api_token()
    desired = api_token(token=SENTINEL + "-new")
    report = classify_drift(desired, org=ORG, applied=AppliedSnapshot.of(applied_conn, ORG),
                            observed=observed_of(applied_conn), at=NOW)
    assert report.statuses == [DriftStatus.NOT_YET_APPLIED]
    assert report.not_yet_applied[0].sensitive


def test_app_password_connector_is_reported_broken_after_end_of_support() -> None:
    app = parse_connector({"name": "legacy", "workspace": "acme",
                           "auth": {"type": "app_password", "username": "bob", "app_password": SENTINEL}})
    report = classify_drift(app, org=ORG, applied=AppliedSnapshot.of(app, ORG), observed=observed_of(app),
                            at=datetime(2026, 6, 10, tzinfo=UTC))
    assert report.statuses == [DriftStatus.APP_PASSWORD]
    assert report.finding == "app_password"  # its fix switches the entry's auth type, not a re-send


@pytest.mark.parametrize("tags", [{}, {"sg-bitbucket-iac/applied": "{not json"}])
def test_snapshot_from_tags_is_lenient(tags: dict[str, str]) -> None:
    assert AppliedSnapshot.from_tags(tags) is None


def test_snapshot_round_trips_through_tags() -> None:
    from sg_bitbucket_iac.tags import cli_bookkeeping

    snapshot = AppliedSnapshot.of(access_token(), ORG)
    tags = cli_bookkeeping(snapshot.to_dict(), NOW)
    assert AppliedSnapshot.from_tags(tags) == snapshot
    assert SENTINEL not in repr(tags)


def test_plan_against_the_last_applied_snapshot_needs_no_request() -> None:
    applied = AppliedSnapshot.of(api_token(), ORG)
    assert plan_connector(api_token(), org=ORG, applied=applied, observed=applied.as_observed()).action is Action.NOOP
    switched = plan_connector(access_token(), org=ORG, applied=applied, observed=applied.as_observed())
    fields = {c.field: c for c in switched.changes}
    # The username StackGuardian masks is known from the snapshot, so the switch shows it going away.
    assert fields["auth.username"].before == "alice" and fields["auth.username"].after is None
    assert fields["auth.type"].note == "full credential replacement"


def test_snapshot_with_missing_identity_is_rejected() -> None:
    data = AppliedSnapshot.of(api_token(), ORG).to_dict()
    assert AppliedSnapshot.from_dict({**data, "name": None}) is None
    assert AppliedSnapshot.from_dict({**data, "connector_id": ""}) is None


def test_audit_flags_app_passwords_and_failing_credentials() -> None:
    from sg_bitbucket_iac.engine import audit_connector

    app = parse_connector({"name": "legacy", "workspace": "acme",
                           "auth": {"type": "app_password", "username": "bob", "app_password": SENTINEL}})
    early = audit_connector(observed_of(app), at=datetime(2025, 1, 1, tzinfo=UTC))
    assert not early.needs_action and early.app_password_phase is not None
    late = audit_connector(observed_of(app), at=datetime(2026, 6, 9, tzinfo=UTC))
    assert late.needs_action and "sg-bitbucket migrate --connector legacy" in late.actions[0]
    failing = audit_connector(observed_of(api_token(), Authentication={"authenticated": False}), at=NOW)
    assert failing.needs_action and failing.app_password_phase is None
    assert not audit_connector(observed_of(api_token()), at=NOW).needs_action


def test_credentials_from_flags_a_field_of_another_auth_type() -> None:
    from sg_bitbucket_iac.model import ConnectorValidationError, credentials_from

    auth = credentials_from("access_token", {"access_token": SENTINEL, "repository": "infra", "username": None})
    assert auth.auth_type.value == "access_token"
    with pytest.raises(ConnectorValidationError, match="belongs to auth type api_token"):
        credentials_from("access_token", {"access_token": SENTINEL, "email": "a@acme.io"})


def test_preflight_only_engine_needs_no_stackguardian() -> None:
    from sg_bitbucket_iac.engine import Engine
    from sg_bitbucket_iac.errors import ConfigurationError
    from sg_bitbucket_iac.settings import Settings

    engine = Engine(Settings.resolve(preflight=False, environ={}))
    assert engine.preflight(api_token()) is None
    with pytest.raises(ConfigurationError, match="no StackGuardian API key"):
        engine.read("x")


def test_a_derived_id_is_kept_after_creation() -> None:
    from sg_bitbucket_iac.engine import keep_identity

    applied = AppliedSnapshot.of(api_token(), ORG)
    renamed = keep_identity(api_token(name="bitbucket-renamed"), applied)
    assert renamed.connector_id == "bitbucket_main"
    plan = plan_connector(renamed, org=ORG, applied=applied, observed=applied.as_observed())
    assert plan.action is Action.UPDATE and [c.field for c in plan.changes] == ["name"]
    explicit = keep_identity(api_token(id="new_id"), applied)
    assert plan_connector(explicit, org=ORG, applied=applied, observed=None).action is Action.REPLACE
    assert keep_identity(api_token(), None).connector_id == "bitbucket_main"
