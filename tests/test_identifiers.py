"""One rule per identifier kind (identifiers.py): what is refused, how it is said, and where it holds.

The property tests send what the rules accept to a loopback recorder through the real clients:
every accepted value reaches exactly one path segment under the API's prefix, and every refused one
reaches no request at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from loopback_recorder import BB_PREFIX, SG_PREFIX, LoopbackRecorder

from sg_bitbucket_iac.bitbucket import BitbucketClient, project_path, pullrequests_path, repository_path
from sg_bitbucket_iac.errors import IdentifierError, NotFoundError, OddRecordError
from sg_bitbucket_iac.field_rules import derive_id
from sg_bitbucket_iac.identifiers import Identifier
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wire import observed_from_record

# Every class of value the issue names, for every kind.
HOSTILE = [".", "..", "", "/", "a/b", "\\", "a\\b", "%2e%2e", "a%2Fb", "?", "a?b=c", "#", "a#b", " acme", "ac me",
           "a\tb", "a\nb", "\x00", "\x1b[31m", "a\u202eb", "\u00a0", "x" * 5_000_000, "...", "ünïcode"]
KINDS = list(Identifier)
PREFIX_OF = {Identifier.CONNECTOR_ID: SG_PREFIX}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
def test_every_hostile_value_is_refused_with_its_field_path_and_without_echoing_it(kind: Identifier,
                                                                                    value: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        kind.check(value, "connectors[0].id")
    error = caught.value
    assert error.path == "connectors[0].id" and error.problems[0].path == "connectors[0].id"
    text = str(error)
    assert text.startswith("connectors[0].id: ") and kind.rule.label in text and kind.rule.shape in text
    assert len(text) < 600  # a 5 MB value is shown by its start and length, never echoed
    assert "\x1b" not in text and "\u202e" not in text and "\x00" not in text


@pytest.mark.parametrize(("kind", "value"), [
    (Identifier.ORG, "acme"), (Identifier.ORG, "Org-1_x"), (Identifier.CONNECTOR_ID, "bitbucket_main"),
    (Identifier.CONNECTOR_ID, "team-pipelines"), (Identifier.WORKSPACE, "acme.dev"),
    (Identifier.REPOSITORY, "infra.git"), (Identifier.REPOSITORY, "-x"), (Identifier.PROJECT_KEY, "PLAT_1"),
])
def test_ordinary_values_pass_unchanged(kind: Identifier, value: str) -> None:
    assert kind.check(value, "x") == value


def test_listall_is_no_connector_id_and_a_name_never_derives_it() -> None:
    assert not Identifier.CONNECTOR_ID.is_valid("listall")
    assert derive_id("listall") == "listall_" and Identifier.CONNECTOR_ID.is_valid(derive_id("listall"))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), value=st.text(max_size=140))
def test_an_accepted_identifier_is_one_unreserved_path_segment(kind: Identifier, value: str) -> None:
    """What any rule accepts needs no escaping, is no dot segment and fits its kind's length."""
    if kind.is_valid(value):
        assert quote(value, safe="") == value and value not in (".", "..") and value.strip(".")
        assert 1 <= len(value) <= kind.rule.max_length and kind.rule.pattern.fullmatch(value)
    else:
        assert kind.message(value) is not None


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_values_of_each_kinds_own_form_are_accepted(kind: Identifier, data: st.DataObject) -> None:
    value = data.draw(st.from_regex(kind.rule.pattern, fullmatch=True))
    assert kind.is_valid(value) or value in kind.rule.reserved or not value.strip(".")


@contextmanager
def recorder() -> Iterator[LoopbackRecorder]:
    started = LoopbackRecorder()  # no upstream: every request is recorded and answered 404
    try:
        yield started
    finally:
        started.close()


def test_stackguardian_a_connector_id_reaches_one_segment_under_the_prefix_or_no_request() -> None:
    with recorder() as server:
        client = StackGuardianClient(server.url, "sgo_k", "acme", retries=0, backoff=0)

        @settings(max_examples=200, deadline=None)
        @given(value=st.one_of(st.text(max_size=110), st.sampled_from(HOSTILE[:-3]),
                               st.from_regex(Identifier.CONNECTOR_ID.rule.pattern, fullmatch=True)))
        @example(value="listall")  # the listing route's own word: refused as an Id, never read as the listing
        def check(value: str) -> None:
            server.lines.clear()
            if Identifier.CONNECTOR_ID.is_valid(value):
                with pytest.raises(NotFoundError):
                    client.get(value)
                assert [line.target for line in server.lines] == [f"{SG_PREFIX}{value}/"]
            else:
                for call in (client.get, client.delete, lambda v: client.update(v, {"Description": "x"})):
                    with pytest.raises(IdentifierError):
                        call(value)
                assert server.lines == []

        try:
            check()
        finally:
            client.close()


def test_bitbucket_a_slug_or_key_reaches_one_segment_under_the_prefix_or_no_request() -> None:
    build = {
        Identifier.WORKSPACE: lambda v: (pullrequests_path(v, "infra"), f"repositories/{v}/infra/pullrequests"),
        Identifier.REPOSITORY: lambda v: (repository_path("acme", v), f"repositories/acme/{v}"),
        Identifier.PROJECT_KEY: lambda v: (project_path("acme", v), f"workspaces/acme/projects/{v}"),
    }
    with recorder() as server:

        @settings(max_examples=200, deadline=None)
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            kind = data.draw(st.sampled_from(list(build)))
            value = data.draw(st.one_of(st.text(max_size=70), st.sampled_from(HOSTILE[:-3]),
                                        st.from_regex(kind.rule.pattern, fullmatch=True)))
            server.lines.clear()
            client = BitbucketClient(server.url + "/2.0", "Bearer token", retry_backoff=0)
            try:
                if kind.is_valid(value):
                    path, expected = build[kind](value)
                    assert client.get(path).status == 404
                    assert [line.target for line in server.lines] == [BB_PREFIX + expected]
                else:
                    with pytest.raises(IdentifierError):
                        client.get(build[kind](value)[0])
                    assert server.lines == []
            finally:
                client.close()

        check()


def test_an_org_name_is_checked_before_a_client_can_exist() -> None:
    for org in ("..", ".", "", "a/b", "acme\\x"):
        with pytest.raises(IdentifierError) as caught:
            StackGuardianClient("http://127.0.0.1:1", "sgo_k", org)
        assert caught.value.path == "org"


@pytest.mark.parametrize("hostile", ["..", ".", "listall", "a/b", "bb main", "\x1b]8;;x\x07", "x" * 10_000])
def test_a_server_record_with_a_hostile_id_is_an_odd_record_never_a_connector(hostile: str) -> None:
    record = {"Id": hostile, "ResourceName": "n", "Settings": {"kind": "BITBUCKET_ORG", "config": []}}
    with pytest.raises(OddRecordError) as caught:
        observed_from_record(record)
    odd = caught.value
    assert odd.problems[0].path == "Id" and "cannot be a connector Id in a URL" in odd.problems[0].message
    assert "\x1b" not in odd.connector_id and len(odd.connector_id) < 100  # how reports name it: safe, short
    assert "\x1b" not in str(odd) and "\x07" not in str(odd) and len(str(odd)) < 1000
