"""The creation marker and when a connector left by an interrupted create is accepted (interrupted_create.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from declarations import api_token_declaration

from sg_bitbucket_iac.interrupted_create import creation_marker, left_by_interrupted_create, marker_tag
from sg_bitbucket_iac.model import Connector, parse_connector
from sg_bitbucket_iac.tags import OWNER_TAG, Front, descriptive_tags
from sg_bitbucket_iac.wire import observed_from_record, to_create_payload

ORG = "acme"
HERE = '{"front": "terraform", "workspace": "default", "state": "s3://bucket/key"}'


def declared(secret: str, **overrides: Any) -> Connector:
    return parse_connector(api_token_declaration(secret, **overrides))


def stored(connector: Connector, *, front: Front = Front.TERRAFORM, configuration: str = HERE,
           **tags: str) -> Any:
    """The connector as StackGuardian stored the create of ``configuration`` (secret masked on read)."""
    context = {**descriptive_tags(connector), OWNER_TAG: front.value,
               **marker_tag(connector, org=ORG, front=front, configuration=configuration), **tags}
    record = to_create_payload(connector, context)
    record["Settings"]["config"][0]["bitbucketCreds"] = "alice:********"
    return observed_from_record(record)


def accepted(desired: Connector, observed: Any, *, front: Front | None = Front.TERRAFORM,
             configuration: str | None = HERE) -> bool:
    return left_by_interrupted_create(desired, observed, org=ORG, front=front, configuration=configuration)


def test_the_same_configuration_declaration_and_credential_accept_it(sentinel: str) -> None:
    connector = declared(sentinel)
    assert accepted(connector, stored(connector))
    # The derived Id is unset when Terraform plans and set when it applies: the same marker.
    assert accepted(declared(sentinel, id="bitbucket_main"), stored(connector))


@pytest.mark.parametrize("what", ["configuration", "front", "org", "credential", "declaration"])
def test_the_marker_differs_with_each_part(sentinel: str, what: str) -> None:
    connector = declared(sentinel)
    base = creation_marker(connector, org=ORG, front=Front.TERRAFORM, configuration=HERE)
    other = {
        "configuration": lambda: creation_marker(connector, org=ORG, front=Front.TERRAFORM,
                                                 configuration=HERE.replace("default", "staging")),
        "front": lambda: creation_marker(connector, org=ORG, front=Front.PULUMI, configuration=HERE),
        "org": lambda: creation_marker(connector, org="beta", front=Front.TERRAFORM, configuration=HERE),
        "credential": lambda: creation_marker(declared(sentinel + "-other"), org=ORG, front=Front.TERRAFORM,
                                              configuration=HERE),
        "declaration": lambda: creation_marker(declared(sentinel, description="x"), org=ORG, front=Front.TERRAFORM,
                                               configuration=HERE),
    }[what]()
    assert base.startswith("cm1:") and other != base
    assert sentinel not in base


def test_anything_else_is_refused(sentinel: str) -> None:
    connector = declared(sentinel)
    theirs = stored(connector, configuration=HERE.replace("default", "prod"))
    assert not accepted(connector, theirs)  # another workspace's create
    assert not accepted(declared(sentinel + "-rotated"), stored(connector))  # another credential
    assert not accepted(declared(sentinel, tags=["x"]), stored(connector))  # another declaration
    edited = dataclasses.replace(stored(connector), description="edited in the UI")
    assert not accepted(connector, edited)  # as declared no more
    pulumis = stored(connector, front=Front.PULUMI)
    assert not accepted(connector, pulumis)  # the owner is another front
    assert not accepted(connector, stored(connector), front=Front.CLI)  # the CLI knows its own by owner and set
    assert not accepted(connector, stored(connector), configuration=None)  # a front that cannot say who it is
    unmarked = dataclasses.replace(stored(connector), context_tags={
        k: v for k, v in stored(connector).context_tags.items() if not k.endswith("created-by")})
    assert not accepted(connector, unmarked)  # created by an earlier version, the UI or another tool
