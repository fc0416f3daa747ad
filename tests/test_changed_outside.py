"""A ModifiedAt later than our last write (changed_outside.py), with the CLI's clock-skew tolerance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sg_bitbucket_iac.changed_outside import (
    CLOCK_SKEW_TOLERANCE,
    cli_changed_outside,
    modified_after,
    refresh_changed_outside,
    refresh_note,
)
from sg_bitbucket_iac.tags import last_write_tag
from sg_bitbucket_iac.wording import PULUMI_WORDING, TERRAFORM_WORDING

WRITE = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)


def test_the_cli_allows_clock_skew_then_sees_the_edit() -> None:
    tags = last_write_tag(WRITE)
    assert cli_changed_outside(tags, WRITE + CLOCK_SKEW_TOLERANCE) is None
    assert cli_changed_outside(tags, WRITE - timedelta(hours=1)) is None  # our clock ahead: never a false alarm
    assert cli_changed_outside(tags, WRITE + CLOCK_SKEW_TOLERANCE + timedelta(milliseconds=1)) == WRITE
    assert cli_changed_outside({}, WRITE + timedelta(days=1)) is None  # no last write known: not a change


def test_fronts_compare_stackguardians_clock_with_itself() -> None:
    state = "2026-03-02T09:00:00.123Z"
    assert not refresh_changed_outside(state, WRITE)
    assert refresh_changed_outside(state, WRITE + timedelta(milliseconds=1))
    assert not refresh_changed_outside(None, WRITE)  # imported or older state: unknown
    assert not modified_after(None, WRITE)
    note = refresh_note("c1", state, WRITE + timedelta(minutes=5), TERRAFORM_WORDING)
    assert note is not None and "credential may have been replaced" in note and "the next apply re-sends" in note
    assert refresh_note("c1", state, WRITE, TERRAFORM_WORDING) is None
    pulumi_note = refresh_note("c1", state, WRITE + timedelta(minutes=5), PULUMI_WORDING)
    assert pulumi_note is not None and "the next `pulumi up` re-sends the declared one" in pulumi_note
