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
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .tags import last_write_of
from .wording import FrontWording

# Local clock vs StackGuardian's clock, plus the write's own round trip (CLI only).
CLOCK_SKEW_TOLERANCE = timedelta(seconds=120)
RESEND_NOTE = "re-sent: the credential may have been replaced outside this tool"


def wall_clock() -> datetime:
    """The real time: the last write is compared with StackGuardian's clock, never the rehearsal clock."""
    return datetime.now(UTC)


def parse_state_time(value: Any) -> datetime | None:
    """A front's stored ``modified_at`` (RFC 3339 text) as a datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def modified_after(
    modified_at: datetime | None, last_write: datetime | None, *, tolerance: timedelta = timedelta(0)
) -> bool:
    """Whether StackGuardian saw a write after ours (unknown times never count as a change)."""
    return modified_at is not None and last_write is not None and modified_at > last_write + tolerance


def changed_outside_message(modified_at: datetime, last_write: datetime, *, how_to_resend: str) -> str:
    return (
        f"modified outside this tool at {_iso(modified_at)}, after its last write at {_iso(last_write)}: "
        f"the credential may have been replaced; {how_to_resend}"
    )


def cli_changed_outside(context_tags: Mapping[str, str], modified_at: datetime | None) -> datetime | None:
    """The CLI's last write when StackGuardian's ModifiedAt is later than it (beyond the skew tolerance)."""
    last_write = last_write_of(context_tags)
    if modified_after(modified_at, last_write, tolerance=CLOCK_SKEW_TOLERANCE):
        return last_write
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
    return f"connector {connector_id}: " + changed_outside_message(
        observed_modified_at, last_write, how_to_resend=front.how_to_resend(connector_id))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
