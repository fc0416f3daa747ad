"""A ModifiedAt later than our last write (changed_outside.py), with the CLI's clock-skew tolerance, and
the CLI's own last-write tag when it is missing, broken or forged into the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sg_bitbucket_iac.changed_outside import (
    CLOCK_SKEW_TOLERANCE,
    cli_outside_edit,
    modified_after,
    parse_state_time,
    refresh_changed_outside,
    refresh_note,
)
from sg_bitbucket_iac.tags import LAST_WRITE_TAG, last_write_tag
from sg_bitbucket_iac.wording import CLI_WORDING, PULUMI_WORDING, TERRAFORM_WORDING

WRITE = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)
NOW = WRITE + timedelta(minutes=1)  # this machine's clock in these tests
YEAR_9999 = "253402300799999"  # 9999-12-31T23:59:59.999Z, the last millisecond a datetime holds


def test_the_cli_allows_clock_skew_then_sees_the_edit() -> None:
    tags = last_write_tag(WRITE)
    assert cli_outside_edit(tags, WRITE + CLOCK_SKEW_TOLERANCE, now=NOW) is None
    assert cli_outside_edit(tags, WRITE - timedelta(hours=1), now=NOW) is None  # our clock ahead: no false alarm
    edit = cli_outside_edit(tags, WRITE + CLOCK_SKEW_TOLERANCE + timedelta(milliseconds=1), now=NOW)
    assert edit is not None and "after its last write at 2026-03-02T09:00:00Z" in edit.reason


@pytest.mark.parametrize(("value", "why"), [
    (None, "tag is missing"),
    ("", "tag is missing"),
    ("not a number", "cannot be read ('not a number' is not a time in epoch milliseconds)"),
    ("-5", "cannot be read"),
    ("+1772442000123", "cannot be read"),
    ("1_772_442_000_123", "cannot be read"),
    ("١٧٧٢٤٤٢٠٠٠١٢٣", "cannot be read"),  # digits of another script: int() takes them, we do not
    ("9" * 18, "past the last date a clock can show"),
    ("9" * 5_000_000, "(5000000 characters) is not a time"),  # shortened, never echoed whole
    (YEAR_9999, "tag says 9999-12-31T23:59:59Z, which is in the future"),
    (str(int((NOW + CLOCK_SKEW_TOLERANCE + timedelta(seconds=1)).timestamp() * 1000)), "in the future"),
])
def test_a_missing_broken_or_future_last_write_tag_counts_as_changed_outside(value: str | None, why: str) -> None:
    tags = {} if value is None else {LAST_WRITE_TAG: value}
    edit = cli_outside_edit(tags, WRITE, now=NOW)
    assert edit is not None and why in edit.reason, edit
    message = edit.message(CLI_WORDING.how_to_resend("c1"))
    assert "the credential may have been replaced" in message and len(message) < 600


def test_a_tag_within_the_skew_tolerance_ahead_of_our_clock_is_ours() -> None:
    ahead = last_write_tag(NOW + CLOCK_SKEW_TOLERANCE)
    assert cli_outside_edit(ahead, NOW + CLOCK_SKEW_TOLERANCE, now=NOW) is None


@given(last_write=st.integers(min_value=0, max_value=10**18),
       modified=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                             timezones=st.just(UTC)) | st.none(),
       now=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                        timezones=st.just(UTC)))
def test_date_arithmetic_on_tags_never_raises(last_write: int, modified: datetime | None, now: datetime) -> None:
    """Any tag, any ModifiedAt StackGuardian can send, any clock: a verdict, never an OverflowError."""
    cli_outside_edit({LAST_WRITE_TAG: str(last_write)}, modified, now=now)


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


def test_odd_dates_in_front_state_are_unknown_never_a_crash() -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_state_time("9999-12-31T23:59:59-05:00") is None  # past year 9999 once in UTC
    assert parse_state_time("0001-01-01T00:00:00+05:00") is None  # before year 1 once in UTC
    assert parse_state_time("9999-12-31T23:59:59Z") == last
    assert not refresh_changed_outside("9999-12-31T23:59:59-05:00", WRITE)
    assert refresh_note("c1", "0001-01-01T00:00:00Z", last, PULUMI_WORDING) is not None
