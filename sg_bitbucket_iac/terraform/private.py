"""What the resource keeps in Terraform's private state: a take-over pending, a replacement being planned.

Terraform and OpenTofu keep an opaque byte string beside each resource instance's state and hand it
back on the next call about that instance: ImportResourceState -> ReadResource -> PlanResourceChange
-> ApplyResourceChange, and, for a replacement, from the plan of the update half to the plan of the
create half (Terraform's `plan()` passes the first answer's planned private as the second call's
prior private; docs/evidence.md#terraforms-plan-calls-destroy-replacement-private-state). It is never
shown to people.

tf 1.2.0 ignores it; the servicer (servicer.py) carries it around each call, and the resource reads
what came in with :func:`received` and says what goes out with :func:`send`, for the call in
progress (a context variable: gRPC serves each call on a thread of its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field

from ..field_rules import is_held_id


@dataclass(frozen=True)
class Private:
    """The facts one resource instance carries from call to call."""

    # Imported from another owner (or none): the next apply moves the owner to terraform. Set by the
    # import, which writes nothing; kept through refreshes and failed applies; gone after an apply.
    takeover: bool = False
    # Planning a new connector_id: the Id of the connector this one replaces (its name is not a clash).
    replaces: str | None = None

    def encode(self) -> bytes:
        values = {k: v for k, v in asdict(self).items() if v not in (None, False)}
        return json.dumps(values, sort_keys=True).encode() if values else b""

    @classmethod
    def decode(cls, data: bytes) -> Private:
        """What ``data`` says; anything unreadable (another provider's bytes, a hand-edited state) says nothing."""
        try:
            values = json.loads(data) if data else {}
        except (ValueError, UnicodeDecodeError):
            return cls()
        if not isinstance(values, dict):
            return cls()
        replaces = values.get("replaces")
        return cls(takeover=values.get("takeover") is True,
                   replaces=replaces if isinstance(replaces, str) and is_held_id(replaces) else None)


@dataclass
class Exchange:
    """One call's private state: what Terraform sent, and what the answer carries (by default the same)."""

    received: Private
    sent: Private = field(default_factory=Private)


_CALL: ContextVar[Exchange | None] = ContextVar("sgbitbucket_private", default=None)


@contextmanager
def exchange(data: bytes) -> Iterator[Exchange]:
    """Around one call: the resource sees ``data`` decoded, and the answer carries what it sends
    (what came in, unless the resource says otherwise)."""
    received = Private.decode(data)
    call = Exchange(received, received)
    token = _CALL.set(call)
    try:
        yield call
    finally:
        _CALL.reset(token)


def received() -> Private:
    """The private state of the call in progress (nothing outside a call)."""
    call = _CALL.get()
    return call.received if call is not None else Private()


def send(private: Private) -> None:
    """What the answer of the call in progress carries as private state."""
    call = _CALL.get()
    if call is not None:
        call.sent = private
