"""A ModifiedAt later than our last write (changed_outside.py), with the CLI's clock-skew tolerance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sg_bitbucket_iac.changed_outside import (
    CLOCK_SKEW_TOLERANCE,
    cli_changed_outside,
    last_write_from_tags,
    last_write_tag,
    modified_after,
    refresh_changed_outside,
    refresh_note,
)

WRITE = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)


def test_the_last_write_tag_round_trips_in_milliseconds() -> None:
    assert last_write_from_tags(last_write_tag(WRITE)) == WRITE
    assert last_write_from_tags({}) is None
    assert last_write_from_tags({"sg-bitbucket-iac/last-write": "not a number"}) is None


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
    note = refresh_note("c1", state, WRITE + timedelta(minutes=5), "terraform apply")
    assert note is not None and "credential may have been replaced" in note and "terraform apply" in note
    assert refresh_note("c1", state, WRITE, "terraform apply") is None
