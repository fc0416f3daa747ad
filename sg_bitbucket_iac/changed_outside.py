"""What changed outside is re-asserted: a `ModifiedAt` later than this tool's last write.

StackGuardian never shows a secret, so a credential swapped in its UI for another working one
leaves every visible field as it was; only ``ModifiedAt`` moves. A connector whose ``ModifiedAt``
is later than our last write was therefore edited outside, and the declared credential is
re-sent on the next apply (the secret may have been replaced).

How the last write time is known, per front:

* **Terraform and Pulumi** keep ``modified_at`` in their state, taken from StackGuardian's own
  answer to our write and updated by each refresh. A refresh that sees a later ``ModifiedAt``
  is the first to see the outside edit: it forgets the credential fingerprint (and Terraform the
  secret attribute), so the next plan re-sends the declared secret. Both times come from
  StackGuardian's clock, so there is no skew; an edit made within the same millisecond as our
  write is the only one that cannot be told apart.
* **The CLI** has no local state: it writes the time of each write into the connector's
  ContextTags (``sg-bitbucket-iac/last-write``), from this machine's clock, since the write that
  carries the tag cannot also carry the ``ModifiedAt`` it will get. ``ModifiedAt`` comes from
  StackGuardian's clock, so the comparison allows :data:`CLOCK_SKEW_TOLERANCE`: an outside edit
  within that window after our write is not seen, and a local clock behind StackGuardian's by
  more than it makes every connector look edited outside (keep the clock synchronised, NTP).
  That tag is anyone's to edit, so a CLI-managed connector whose tag is **missing, unreadable or
  in the future** (beyond the same tolerance) counts as changed outside too: a tag pushed into the
  future would otherwise hide every later edit. (A tag forged to the very time of the edit cannot be
  told from our own: it is not signed.)

Date arithmetic here never shifts a date that came from outside: it compares differences
(``a - b > tolerance``), which a timedelta always holds, so a year-9999 tag is a note about that
connector, never an ``OverflowError`` for the whole org.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .tags import LAST_WRITE_TAG, last_write_of
from .wording import FrontWording

# Local clock vs StackGuardian's clock, plus the write's own round trip (CLI only).
CLOCK_SKEW_TOLERANCE = timedelta(seconds=120)
RESEND_NOTE = "re-sent: the credential may have been replaced outside this tool"


def wall_clock() -> datetime:
    """The real time: the last write is compared with StackGuardian's clock, never the rehearsal clock."""
    return datetime.now(UTC)


def parse_state_time(value: Any) -> datetime | None:
    """A front's stored ``modified_at`` (RFC 3339 text) as a datetime in UTC; None when absent or unreadable
    (a date whose offset would carry it past the years a datetime holds included)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:
        return None


def modified_after(
    modified_at: datetime | None, last_write: datetime | None, *, tolerance: timedelta = timedelta(0)
) -> bool:
    """Whether StackGuardian saw a write after ours (unknown times never count as a change)."""
    return modified_at is not None and last_write is not None and modified_at - last_write > tolerance


def _edited_after(modified_at: datetime, last_write: datetime) -> str:
    return f"modified outside this tool at {_iso(modified_at)}, after its last write at {_iso(last_write)}"


@dataclass(frozen=True)
class OutsideEdit:
    """Why a connector counts as changed outside this tool (its credential is re-sent on the next apply)."""

    reason: str

    def message(self, how_to_resend: str) -> str:
        return f"{self.reason}: the credential may have been replaced; {how_to_resend}"


def cli_outside_edit(context_tags: Mapping[str, str], modified_at: datetime | None, *,
                     now: datetime | None = None) -> OutsideEdit | None:
    """Whether a CLI-managed connector was edited outside: a ``ModifiedAt`` later than the CLI's last
    write, or a last-write tag that is missing, unreadable or in the future (all beyond the skew tolerance).

    ``now``: this machine's clock (the real time by default; the rehearsal clock never counts here).
    """
    last_write = last_write_of(context_tags)
    if last_write.missing:
        return OutsideEdit(f"its `{LAST_WRITE_TAG}` tag is missing, so an edit made outside cannot be ruled out")
    if last_write.at is None:
        return OutsideEdit(f"its `{LAST_WRITE_TAG}` tag cannot be read ({last_write.unreadable}), so an edit "
                           "made outside cannot be ruled out")
    if last_write.at - (now or wall_clock()) > CLOCK_SKEW_TOLERANCE:
        return OutsideEdit(f"its `{LAST_WRITE_TAG}` tag says {_iso(last_write.at)}, which is in the future (set "
                           "outside, or written by a clock far ahead), so it would hide every later edit")
    if modified_after(modified_at, last_write.at, tolerance=CLOCK_SKEW_TOLERANCE):
        assert modified_at is not None
        return OutsideEdit(_edited_after(modified_at, last_write.at))
    return None


def refresh_changed_outside(state_modified_at: Any, observed_modified_at: datetime | None) -> bool:
    """Terraform/Pulumi refresh: a later ModifiedAt than the state's (both from StackGuardian's clock)."""
    return modified_after(observed_modified_at, parse_state_time(state_modified_at))


def refresh_note(connector_id: str, state_modified_at: Any, observed_modified_at: datetime | None,
                 front: FrontWording) -> str | None:
    """What a Terraform/Pulumi refresh says when it finds an edit made outside (None: there was none).

    The front then forgets the credential's fingerprint (Terraform also the secret attribute, so its
    plan shows the change), which makes the next plan re-send the declared credential.
    """
    last_write = parse_state_time(state_modified_at)
    if observed_modified_at is None or not modified_after(observed_modified_at, last_write):
        return None
    assert last_write is not None
    edit = OutsideEdit(_edited_after(observed_modified_at, last_write))
    return f"connector {connector_id}: " + edit.message(front.how_to_resend(connector_id))


def _iso(moment: datetime) -> str:
    with contextlib.suppress(OverflowError):  # an offset that carries it past year 9999: shown as it is
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
