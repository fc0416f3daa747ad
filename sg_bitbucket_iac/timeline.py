"""The app-password timeline as data, and the product clock.

Dates (Bitbucket's and StackGuardian's, with sources: docs/evidence.md#app-password-timeline):
* 2025-09-09: Bitbucket stops issuing new app passwords; existing ones keep working.
* 2026-06-09: StackGuardian ends support for app-password connectors; Bitbucket brownouts start
  (00:00, 06:00, 12:00, 18:00 UTC windows).
* 2026-07-28: Bitbucket removes app passwords entirely.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

CLOCK_ENV = "SG_BITBUCKET_IAC_NOW"

NO_NEW_APP_PASSWORDS = date(2025, 9, 9)
STACKGUARDIAN_END_OF_SUPPORT = date(2026, 6, 9)
BITBUCKET_BROWNOUTS_START = date(2026, 6, 9)
BITBUCKET_REMOVAL = date(2026, 7, 28)

# What every front's migration advice starts with (each front says how: see wording.py).
SWITCH_OFF_APP_PASSWORDS = "switch it to an API token or an access token"
# Said when an app password is declared for a connector that does not exist yet.
NEW_APP_PASSWORD_WARNING = (
    f"App passwords can no longer be created and stop working on {BITBUCKET_REMOVAL} (brownouts from "
    f"{BITBUCKET_BROWNOUTS_START}): use this only with an existing password; prefer an API token."
)


def parse_instant(text: str) -> datetime:
    """ISO 8601 date or date-time; a naive value is taken as UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def now(override: str | datetime | None = None) -> datetime:
    """The product's clock: an explicit override, else SG_BITBUCKET_IAC_NOW, else the real time."""
    if isinstance(override, datetime):
        return override if override.tzinfo else override.replace(tzinfo=UTC)
    text = override or os.environ.get(CLOCK_ENV)
    if text:
        try:
            return parse_instant(text)
        except ValueError:
            raise ValueError(
                f"{CLOCK_ENV}={text!r} is not an ISO 8601 date or date-time (e.g. 2026-06-10T00:00:00Z)"
            ) from None
    return datetime.now(UTC)


class AppPasswordPhase(enum.StrEnum):
    ALLOWED = "allowed"            # before 2025-09-09
    DEPRECATED = "deprecated"      # 2025-09-09 .. 2026-06-08: works, warn
    UNSUPPORTED = "unsupported"    # from 2026-06-09: StackGuardian refuses; Bitbucket browns out
    REMOVED = "removed"            # from 2026-07-28: Bitbucket refuses every request


@dataclass(frozen=True)
class AppPasswordStatus:
    """An app password's phase on a date, and the dates that apply (what to do is the caller's to word)."""

    phase: AppPasswordPhase
    situation: str

    @property
    def allowed(self) -> bool:
        return self.phase in (AppPasswordPhase.ALLOWED, AppPasswordPhase.DEPRECATED)

    @property
    def needs_action(self) -> bool:
        return self.phase is not AppPasswordPhase.ALLOWED

    def message(self, how_to_migrate: str) -> str:
        """The situation and what to do about it; ``how_to_migrate`` is a front's migration advice."""
        if self.allowed:
            return f"{self.situation}; plan to {how_to_migrate}"
        return f"{self.situation}; {how_to_migrate}"


def app_password_status(at: datetime) -> AppPasswordStatus:
    today = at.astimezone(UTC).date()
    if today >= BITBUCKET_REMOVAL:
        return AppPasswordStatus(
            AppPasswordPhase.REMOVED,
            "Bitbucket removed app passwords on 2026-07-28 and StackGuardian ended support on 2026-06-09",
        )
    if today >= STACKGUARDIAN_END_OF_SUPPORT:
        return AppPasswordStatus(
            AppPasswordPhase.UNSUPPORTED,
            "StackGuardian ended support for app passwords on 2026-06-09 (Bitbucket browns them out until it "
            "removes them on 2026-07-28)",
        )
    if today >= NO_NEW_APP_PASSWORDS:
        return AppPasswordStatus(
            AppPasswordPhase.DEPRECATED,
            "app passwords are deprecated: Bitbucket stopped issuing them on 2025-09-09 and StackGuardian "
            "ends support on 2026-06-09",
        )
    return AppPasswordStatus(AppPasswordPhase.ALLOWED, "app passwords are supported until 2026-06-09")


def bitbucket_in_brownout(at: datetime, window_minutes: int = 15) -> bool:
    """Whether Bitbucket's app-password brownout is active at ``at`` (for the emulator)."""
    at = at.astimezone(UTC)
    day = at.date()
    if day < BITBUCKET_BROWNOUTS_START or day >= BITBUCKET_REMOVAL:
        return False
    return at.hour % 6 == 0 and at.minute < window_minutes
