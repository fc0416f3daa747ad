"""A create that StackGuardian stored but whose run never recorded it: finished by the next run, never adopted blindly.

Terraform and Pulumi put a connector in their state only when the create's answer comes back. When
the run is killed after StackGuardian stored the create (a CI job cancelled, the provider process
killed), or every answer and every look-up after it were lost, the next run finds a connector
with the declared Id that its state does not hold. Refusing it ("already exists, import it") would
make a person clean up after the tool; taking any such connector would let one configuration
silently take over another's. So the next run accepts it only when all of these hold:

(a) its owner tag is this front's (``terraform`` or ``pulumi``);
(b) it is as declared: name, description, tags, auth type, email, the visible username and the
    descriptive tags (workspace, access-token scope, repository, project);
(c) it was created by this configuration: its ``created-by`` tag equals the creation marker this
    configuration computes now, from the same declaration.

The creation marker is ``cm1:`` and an HMAC-SHA256 keyed by the declared credential's fingerprint
(keyed HMAC or scrypt, :mod:`~sg_bitbucket_iac.secrets.fingerprints`: never a bare hash of a secret)
over the front, the org, the connector Id, every non-secret declared field and the configuration's
identity: Pulumi's ``organization/project/stack`` and the resource's name, Terraform's workspace and
where its state lives (see the front). A connector created by another stack or workspace, by another
front, by the CLI or in the UI carries no marker or another one; one created from another
credential or declaration carries another one. Since the marker includes the fingerprint, (c) also
proves (b) for the secret StackGuardian masks. Even so, the declared credential is sent once more
when the connector is accepted (as after a lost create answer in one run): what is kept is exactly
what the configuration declares, whoever wrote the record.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from .model import Connector
from .tags import CREATED_BY_TAG, Front, created_by_of, descriptive_tags, owner_of
from .wire import ObservedConnector

MARKER_SCHEME = "cm1:"


def creation_marker(connector: Connector, *, org: str, front: Front, configuration: str) -> str:
    """What ``configuration`` writes into the ``created-by`` tag when ``front`` creates ``connector``."""
    # The Id as it will be (`connector_id`), not as written: a derived Id is unset at plan, set at apply.
    declared = connector.model_dump(mode="json", exclude={"id": True, "auth": {connector.auth_type.secret_field}})
    message = json.dumps({"front": front.value, "org": org, "connector_id": connector.connector_id,
                          "declared": declared, "configuration": configuration},
                         sort_keys=True, separators=(",", ":"))
    key = connector.credential_fingerprint(org).encode()
    return MARKER_SCHEME + hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def marker_tag(connector: Connector, *, org: str, front: Front, configuration: str) -> dict[str, str]:
    return {CREATED_BY_TAG: creation_marker(connector, org=org, front=front, configuration=configuration)}


def differences(desired: Connector, observed: ObservedConnector) -> list[str]:
    """What of the declaration the record does not show (empty: as declared, secret aside)."""
    found: list[str] = []
    if observed.name != desired.name:
        found.append("name")
    if (observed.description or "") != desired.description:
        found.append("description")
    if list(observed.tags) != list(desired.tags):
        found.append("tags")
    if observed.auth_type is not desired.auth_type:
        found.append("auth type")
    if observed.email != getattr(desired.auth, "email", None):
        found.append("email")
    if observed.username is not None and observed.username != getattr(desired.auth, "username", None):
        found.append("username")
    found += [key.rsplit("/", 1)[-1] for key, value in descriptive_tags(desired).items()
              if observed.context_tags.get(key) != value]
    return found


def left_by_interrupted_create(desired: Connector, observed: ObservedConnector, *, org: str, front: Front | None,
                               configuration: str | None) -> bool:
    """Whether ``observed`` is this configuration's own create, stored by a run that never recorded it."""
    if front is None or front is Front.CLI or not configuration:
        return False  # the CLI keeps no state: its own connectors are known by owner and set
    marker = created_by_of(observed.context_tags)
    if marker is None or owner_of(observed.context_tags) is not front or differences(desired, observed):
        return False
    expected = creation_marker(desired, org=org, front=front, configuration=configuration)
    return hmac.compare_digest(marker, expected)


def accepted_note(connector_id: str) -> str:
    return (f"connector {connector_id} was created by this configuration but is missing from its state (a run "
            "interrupted after StackGuardian stored the create, or the state edited); it is taken as created (its "
            "credential is sent once more), not created again")
