"""Replacements a plan made, noted on this machine for the apply that carries them out.

A new `connector_id` replaces the connector: Terraform plans the update half (the old connector in
hand) and then the create half, passing the first call's private state to the second, so the create
knows which connector it replaces and the name that one holds is no clash. At apply, Terraform plans
the create once more, and then creates it, without the old connector: with `create_before_destroy`
the old one still holds the name at that moment, and nothing in the protocol says it is the one
being replaced. So the plan notes "Y replaces X (name N, org O)" here, and the apply's name check
leaves X out for that exact create. Without the note (plan and apply on different machines), the
check counts X and the apply stops before writing, naming X; delete-first replacements (the
default) never need it: the old connector is gone before the create.

A note is a small file in the user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`, then
`sg-bitbucket-iac/terraform-replacements/`); it is removed when the create succeeds and ignored
after :data:`NOTE_DAYS` days. It holds Ids and a name, never a credential. Writing it is best effort:
a folder that cannot be written leaves only the apply-time check as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)
NOTE_DAYS = 7


def notes_folder() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "sg-bitbucket-iac" / "terraform-replacements"


def _note_path(org: str, connector_id: str) -> Path:
    digest = hashlib.sha256(f"{org}\0{connector_id}".encode()).hexdigest()[:32]
    return notes_folder() / f"{digest}.json"


def remember(org: str, connector_id: str, *, replaces: str, name: str) -> None:
    """A plan creates ``connector_id`` (named ``name``) in place of ``replaces``."""
    path = _note_path(org, connector_id)
    note = {"org": org, "connector_id": connector_id, "replaces": replaces, "name": name, "planned_at": time.time()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(note))
        temporary.replace(path)
    except OSError as error:
        log.debug("could not note the replacement of %s: %s", replaces, error)


def replaced_by_plan(org: str, connector_id: str, name: str) -> str | None:
    """The Id a plan noted that this create replaces (None: no fresh note for exactly this create)."""
    path = _note_path(org, connector_id)
    try:
        note = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or (note.get("org"), note.get("connector_id"), note.get("name")) != (
            org, connector_id, name):
        return None
    planned_at = note.get("planned_at")
    if not isinstance(planned_at, int | float) or time.time() - planned_at > NOTE_DAYS * 86400:
        forget(org, connector_id)
        return None
    replaces = note.get("replaces")
    return replaces if isinstance(replaces, str) and replaces != connector_id else None


def forget(org: str, connector_id: str) -> None:
    """The create was carried out (or the note is stale)."""
    try:
        _note_path(org, connector_id).unlink(missing_ok=True)
    except OSError as error:
        log.debug("could not remove the replacement note of %s: %s", connector_id, error)
