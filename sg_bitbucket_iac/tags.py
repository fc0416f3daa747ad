"""Every ``sg-bitbucket-iac/*`` ContextTag this tool keeps on a connector, and how each is read and written.

StackGuardian models neither the workspace nor an access token's scope, and never shows a secret;
the CLI keeps no local state. So a connector carries, in its ContextTags:

* ``owner`` (``cli`` | ``terraform`` | ``pulumi``, the :class:`Front` values): who may write to it
  (the rules are :mod:`~sg_bitbucket_iac.ownership`'s);
* ``set``: for a connector the CLI owns, the set of the definitions file that applied it (its
  ``set:`` name; :data:`DEFAULT_SET` when the file names none, and for connectors the CLI tagged
  before sets existed): prune and "managed, not declared" see only their own file's set;
* ``created-by``: written with a create by Terraform and Pulumi, a marker that only the same
  configuration reproduces (:mod:`~sg_bitbucket_iac.interrupted_create`), so that a create
  interrupted after StackGuardian stored it is finished by the next run instead of refused;
* descriptive facts of the declaration, written by every front on every write: ``workspace``,
  ``username`` (StackGuardian masks it inside ``bitbucketCreds``), ``access-token-scope``,
  ``repository``, ``project`` (each auth type says which of them it writes);
* the CLI's bookkeeping, written by the CLI only and dropped when another front takes the
  connector over: ``managed`` (the marker that predates owner tags), ``applied`` (the applied
  snapshot as JSON), ``fingerprint`` (of the credential last applied) and ``last-write`` (epoch
  milliseconds of the CLI's last write, to tell an edit made outside).

This module imports nothing from the package but :mod:`.redact`: every other module reads and writes these
tags here.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .redact import shorten

if TYPE_CHECKING:
    from .model import Connector

PREFIX = "sg-bitbucket-iac/"
OWNER_TAG = PREFIX + "owner"
SET_TAG = PREFIX + "set"
CREATED_BY_TAG = PREFIX + "created-by"
WORKSPACE_TAG = PREFIX + "workspace"
USERNAME_TAG = PREFIX + "username"
ACCESS_SCOPE_TAG = PREFIX + "access-token-scope"
REPOSITORY_TAG = PREFIX + "repository"
PROJECT_TAG = PREFIX + "project"
MANAGED_TAG = PREFIX + "managed"
APPLIED_TAG = PREFIX + "applied"
FINGERPRINT_TAG = PREFIX + "fingerprint"
LAST_WRITE_TAG = PREFIX + "last-write"
CLI_BOOKKEEPING_TAGS = (MANAGED_TAG, APPLIED_TAG, FINGERPRINT_TAG, LAST_WRITE_TAG, SET_TAG)
# The set of a CLI-owned connector whose file names no `set:`, or that an earlier version tagged.
DEFAULT_SET = "default"
# What a set name is (the definitions file's `set:`, the set tag's value); the JSON Schema says the same.
SET_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SET_NAME_RE = re.compile(SET_NAME_PATTERN)
# A set tag that is not a set name (edited outside): in no file's set, so no file prunes or reports it.
UNREADABLE_SET = "(unreadable set tag)"


class Front(enum.StrEnum):
    """The fronts that can own a connector: the values of the owner tag."""

    CLI = "cli"
    TERRAFORM = "terraform"
    PULUMI = "pulumi"


def is_ours(key: str) -> bool:
    """Whether a ContextTags key is one of this tool's (the others belong to whoever set them)."""
    return key.startswith(PREFIX)


# --------------------------------------------------------------------------- reading
def owner_of(context_tags: Mapping[str, str]) -> Front | None:
    """The owner the tags name; the CLI's managed marker alone (written before owner tags) means the CLI."""
    value = context_tags.get(OWNER_TAG)
    if value:
        try:
            return Front(value)
        except ValueError:
            return None  # an owner this version does not know: nobody we can act for
    if context_tags.get(MANAGED_TAG) == "true":
        return Front.CLI
    return None


def set_of(context_tags: Mapping[str, str]) -> str | None:
    """The CLI set a connector belongs to; None when the CLI does not own it.

    A CLI connector without a set tag (written before sets, or by a file without ``set:``) is in
    :data:`DEFAULT_SET`.
    """
    if owner_of(context_tags) is not Front.CLI:
        return None
    value = context_tags.get(SET_TAG) or DEFAULT_SET
    return value if is_set_name(value) else UNREADABLE_SET


def is_set_name(value: str) -> bool:
    """Whether ``value`` is a set name (``SET_NAME_PATTERN``; ``$`` must not accept a final newline)."""
    return _SET_NAME_RE.fullmatch(value) is not None


def created_by_of(context_tags: Mapping[str, str]) -> str | None:
    """The creation marker Terraform or Pulumi wrote with the create, if any."""
    return context_tags.get(CREATED_BY_TAG) or None


def fingerprint_of(context_tags: Mapping[str, str]) -> str | None:
    """The CLI's fingerprint of the credential it last applied."""
    return context_tags.get(FINGERPRINT_TAG) or None


def workspace_of(context_tags: Mapping[str, str]) -> str | None:
    return context_tags.get(WORKSPACE_TAG) or None


@dataclass(frozen=True)
class LastWrite:
    """The CLI's last-write tag as read: the time it names, or why it names none.

    The tag is anyone's to edit in StackGuardian, so it is read strictly: decimal epoch milliseconds
    (what :func:`last_write_tag` writes), within the years a datetime can hold; anything else is
    ``unreadable``, never a crash.
    """

    at: datetime | None
    missing: bool = False
    unreadable: str = ""  # why the tag is not a time, for messages (never the whole value)


# Epoch milliseconds as this tool writes them: digits only, no sign, no `_`, no other script's digits.
_EPOCH_MS_TEXT = re.compile(r"[0-9]{1,18}")


def last_write_of(context_tags: Mapping[str, str]) -> LastWrite:
    """When the CLI last wrote the connector (its own clock), or why that is unknown."""
    text = context_tags.get(LAST_WRITE_TAG)
    if not text:
        return LastWrite(None, missing=True)
    if not _EPOCH_MS_TEXT.fullmatch(text):
        return LastWrite(None, unreadable=f"{shorten(text, limit=40)} is not a time in epoch milliseconds")
    try:
        return LastWrite(datetime.fromtimestamp(int(text) / 1000, tz=UTC))
    except (ValueError, OverflowError, OSError):
        return LastWrite(None, unreadable=f"{text} milliseconds is past the last date a clock can show (9999-12-31)")


def applied_of(context_tags: Mapping[str, str]) -> dict[str, Any] | None:
    """The CLI's applied snapshot as stored (with the fingerprint from its own tag), or None when
    absent or not a JSON object; its fields are the snapshot's to check."""
    raw = context_tags.get(APPLIED_TAG)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data["fingerprint"] = fingerprint_of(context_tags)
    return data


# --------------------------------------------------------------------------- writing
def descriptive_tags(connector: Connector) -> dict[str, str]:
    """Declared facts StackGuardian does not model, written by every front so drift and import see them."""
    return {WORKSPACE_TAG: connector.workspace, **connector.auth.descriptive_tags()}


def last_write_tag(at: datetime) -> dict[str, str]:
    """The last-write tag (epoch milliseconds, like StackGuardian's ModifiedAt)."""
    return {LAST_WRITE_TAG: str(int(at.timestamp() * 1000))}


def cli_bookkeeping(applied: Mapping[str, Any], written_at: datetime) -> dict[str, str]:
    """The CLI's tags for a write: managed marker, applied snapshot, fingerprint and the write's time.

    ``applied`` is the snapshot as a dict; its fingerprint goes into a tag of its own (drift reads
    it without parsing the snapshot), the rest is kept as compact, sorted JSON.
    """
    snapshot = dict(applied)
    fingerprint = snapshot.pop("fingerprint", None)
    tags = {MANAGED_TAG: "true", APPLIED_TAG: json.dumps(snapshot, separators=(",", ":"), sort_keys=True)}
    if fingerprint:
        tags[FINGERPRINT_TAG] = str(fingerprint)
    tags.update(last_write_tag(written_at))
    return tags


def without_cli_bookkeeping(context_tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in context_tags.items() if k not in CLI_BOOKKEEPING_TAGS}


def with_owner(context_tags: Mapping[str, str], front: Front, set_name: str | None = None) -> dict[str, str]:
    """The owner tag set to ``front``; for the CLI also its set (``set_name``, :data:`DEFAULT_SET` if None)."""
    tags = {**context_tags, OWNER_TAG: front.value}
    if front is Front.CLI:
        tags[SET_TAG] = set_name or DEFAULT_SET
    return tags
