"""Every class of hostile answer, against both clients and the preflight, on the hostile loopback server.

A StackGuardian answer that is slow, huge, deep or not what the API documents is an error the client
names (a timeout, or "answered something unexpected"), never a record, an empty org or a missing
connector; a Bitbucket one is a probe without a status, so preflight says INCONCLUSIVE. Hangs are
met with short deadlines (0.3 s): no test waits for a real hang to end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hostile_server import HostileServer, Reply, Request

from sg_bitbucket_iac.bitbucket import BitbucketClient
from sg_bitbucket_iac.errors import (
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    StackGuardianError,
    UnexpectedAnswerError,
)
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.preflight import PreflightStatus, run_preflight
from sg_bitbucket_iac.stackguardian import MAX_CONNECTORS_PER_ORG, StackGuardianClient, max_listall_pages

ORG = "acme"
DEADLINE = 0.3
RECORD = {"Id": "main", "ResourceName": "main", "Settings": {"kind": "BITBUCKET_ORG", "config": [{}]}}
VALID_GET = b'{"msg": {"Id": "main", "ResourceName": "main"}}'

# The classes that break a limit, the same for every endpoint: (name, reply, error, words).
LIMITS: list[tuple[str, Reply, type[StackGuardianError], str]] = [
    ("drip", Reply.drip(VALID_GET, every=0.05), RequestTimeoutError, f"no complete answer within {DEADLINE:g} s"),
    ("slow headers", Reply.slow_headers(40, every=0.05), RequestTimeoutError, "no complete answer"),
    ("stall", Reply.stall(), RequestTimeoutError, "no complete answer"),
    ("gzip bomb", Reply.gzip_bomb(), UnexpectedAnswerError, "larger than the 16 MiB accepted"),
    ("endless chunks", Reply.endless_chunks(), UnexpectedAnswerError, "larger than the 16 MiB accepted"),
    ("deep JSON", Reply.deep_json(100_000), UnexpectedAnswerError, "nests deeper than 32 levels"),
    ("not JSON", Reply.text("<html><body>Maintenance</body></html>"), UnexpectedAnswerError, "not JSON"),
    ("empty 200", Reply(200, (), b""), UnexpectedAnswerError, "an empty body"),
    ("JSON array", Reply.json([RECORD]), UnexpectedAnswerError, "a JSON array, not an object"),
    ("null", Reply.json(None), UnexpectedAnswerError, "a JSON null, not an object"),
    ("error object", Reply.json({"error": "internal", "msg": [RECORD]}), UnexpectedAnswerError, "an error object"),
    ("error status", Reply.json({"status": 503, "msg": [RECORD]}), UnexpectedAnswerError, "an error object"),
]


def client(server: HostileServer, *, retries: int = 0) -> StackGuardianClient:
    return StackGuardianClient(server.url, "sgo_key", ORG, retries=retries, backoff=0, timeout=(2.0, DEADLINE))


def answering(hostile: Callable[..., HostileServer], reply: Reply | Callable[[Request], Reply]) -> HostileServer:
    server = hostile()
    server.on("*", "/", reply)
    return server


@pytest.mark.parametrize(("name", "reply", "error", "words"), LIMITS, ids=[case[0] for case in LIMITS])
@pytest.mark.parametrize("operation", ["get", "list_all"])
def test_stackguardian_answers_beyond_a_limit_are_errors(
    hostile: Callable[..., HostileServer], operation: str, name: str, reply: Reply,
    error: type[StackGuardianError], words: str,
) -> None:
    sg = client(answering(hostile, reply))
    with pytest.raises(StackGuardianError) as caught:
        sg.get("main") if operation == "get" else list(sg.list_all())
    assert type(caught.value) is error, caught.value
    assert words in str(caught.value) and error.hint in str(caught.value)


def test_a_drip_ends_at_the_deadline_not_at_the_last_byte(hostile: Callable[..., HostileServer]) -> None:
    body = b'{"msg": {"Id": "main", "Description": "' + b"x" * 200 + b'"}}'
    server = answering(hostile, Reply.drip(body, every=0.02, piece=4))  # 1.2 s of drip at least
    with pytest.raises(RequestTimeoutError):
        client(server).get("main")
    (sent,) = server.replies_sent(1)
    assert sent < len(body)  # the client hung up before the end: the deadline counts the whole body


# --------------------------------------------------------------------------- shapes StackGuardian does not document
LISTALL_SHAPES = [
    ("error text in msg", {"msg": "Internal server error"}, "holds no list under `msg` (server said: Internal"),
    ("no msg", {"lastevaluatedkey": ""}, "holds no list under `msg`"),
    ("msg an object", {"msg": RECORD}, "holds no list under `msg`"),
    ("items not objects", {"msg": ["Internal", "error"]}, "an item that is not an object"),
    ("cursor a number", {"msg": [RECORD], "lastevaluatedkey": 5}, "cursor is not a string"),
    ("cursor a map", {"msg": [RECORD], "lastevaluatedkey": {"Id": "x"}}, "cursor is not a string"),
    ("cursor huge", {"msg": [RECORD], "lastevaluatedkey": "c" * 5000}, "cursor is not a string of at most 4096"),
    ("errors list", {"msg": [], "errors": [{"code": "THROTTLED"}]}, "an error object"),
]


@pytest.mark.parametrize(("name", "body", "words"), LISTALL_SHAPES, ids=[case[0] for case in LISTALL_SHAPES])
def test_a_listall_page_without_its_documented_shape_is_never_an_empty_org(
    hostile: Callable[..., HostileServer], name: str, body: dict[str, Any], words: str
) -> None:
    with pytest.raises(UnexpectedAnswerError, match="answered something unexpected") as caught:
        list(client(answering(hostile, Reply.json(body))).list_all())
    assert words in str(caught.value)


def test_a_page_is_used_whole_or_not_at_all(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    server.on("GET", "listall", Reply.json({"msg": [RECORD], "lastevaluatedkey": "next"}), times=1)
    server.on("GET", "listall", Reply.json({"msg": [RECORD, "oops"], "lastevaluatedkey": ""}))
    scan = client(server).list_all()
    assert next(scan)["Id"] == "main"  # the first page is fine
    with pytest.raises(UnexpectedAnswerError):
        next(scan)  # nothing of the broken page, not even its good record


@pytest.mark.parametrize("body", [{"msg": "Connector main not found"}, {"msg": None}, {"msg": [RECORD]}, {}])
def test_a_read_without_its_record_is_an_error_not_a_missing_connector(
    hostile: Callable[..., HostileServer], body: dict[str, Any]
) -> None:
    sg = client(answering(hostile, Reply.json(body)))
    with pytest.raises(UnexpectedAnswerError, match="without its record") as caught:
        sg.find("main")  # find() turns only a 404 into "absent"
    assert not isinstance(caught.value, NotFoundError)


def test_a_write_whose_data_is_not_a_record_is_an_error(hostile: Callable[..., HostileServer]) -> None:
    sg = client(answering(hostile, Reply.json({"msg": "Integration main updated", "data": "main"})))
    with pytest.raises(UnexpectedAnswerError, match="`data` that is not a record"):
        sg.update("main", {"Description": "x"})


def test_an_endless_cursor_stops_after_the_documented_number_of_pages(hostile: Callable[..., HostileServer]) -> None:
    pages = itertools.count(1)
    server = answering(hostile, lambda request: Reply.json({"msg": [], "lastevaluatedkey": f"c{next(pages)}"}))
    with pytest.raises(UnexpectedAnswerError) as caught:
        list(client(server).list_all())
    most = max_listall_pages(500)
    assert most == 2 * MAX_CONNECTORS_PER_ORG // 500 + 1 == 401
    assert f"did not end after {most} pages of 500" in str(caught.value)
    assert server.count("GET", "listall") == most


def test_a_cursor_met_twice_stops_the_scan(hostile: Callable[..., HostileServer]) -> None:
    server = answering(hostile, Reply.json({"msg": [RECORD], "lastevaluatedkey": "again"}))
    with pytest.raises(UnexpectedAnswerError, match="the same cursor twice"):
        list(client(server).list_all())
    assert server.count("GET", "listall") == 2


def test_error_statuses_keep_their_own_errors(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    server.on("GET", "gone", Reply.json({"msg": "Connector gone not found"}, 404))
    server.on("GET", "slow", Reply.json({"msg": "slow down"}, 429, {"Retry-After": "3600"}))
    server.on("GET", "huge", Reply(503, (), Reply.endless_chunks().body))
    sg = client(server, retries=2)
    assert sg.find("gone") is None
    with pytest.raises(RateLimitedError, match="server said: slow down"):
        sg.get("slow")  # Retry-After is capped at 60 s, past this call's 0.9 s deadline: no wait
    assert server.count("GET", "slow") == 1
    with pytest.raises(StackGuardianError, match=r"service error \(503\)"):
        sg.get("huge")  # an endless error body is read for its message only, and not to its end


# --------------------------------------------------------------------------- Bitbucket: the client and the preflight
# Bitbucket's error object is `{"type": "error", "error": ...}` (docs/evidence.md#bitbucket-error-and-status-shapes);
# a top-level `status` is StackGuardian's case only.
BITBUCKET_LIMITS = [case for case in LIMITS if case[0] != "error status"]


@pytest.mark.parametrize(("name", "reply", "error", "words"), BITBUCKET_LIMITS, ids=[c[0] for c in BITBUCKET_LIMITS])
def test_bitbucket_answers_beyond_a_limit_are_probes_without_a_status(
    hostile: Callable[..., HostileServer], name: str, reply: Reply, error: type[StackGuardianError], words: str
) -> None:
    server = answering(hostile, reply)
    answer = BitbucketClient(server.url + "/2.0", "Bearer token", retry_backoff=0, timeout=DEADLINE).get("/user")
    assert answer.status is None and answer.transport_failure is error
    expected = words.replace("no complete answer", f"no complete answer from 127.0.0.1:{server.url.rsplit(':', 1)[1]}")
    if error is UnexpectedAnswerError:
        expected = "answered something unexpected to /2.0/user"
    assert answer.transport_error is not None and expected in answer.transport_error


BITBUCKET_SHAPES = [
    ("error object", "/user", {}, {"type": "error", "error": {"message": "Something went wrong"}}),
    ("error key", "/user", {}, {"error": {"message": "nope"}}),
    ("page without values", "/user/workspaces", {"pagelen": "100"}, {"pagelen": 100, "size": 1}),
    ("values not a list", "/user/workspaces", {"pagelen": "100"}, {"values": {"slug": "acme"}}),
    ("next not a link", "/user/workspaces", {"pagelen": "100"}, {"values": [], "next": {"href": "x"}}),
]


@pytest.mark.parametrize(("name", "path", "params", "body"), BITBUCKET_SHAPES, ids=[c[0] for c in BITBUCKET_SHAPES])
def test_bitbucket_200s_without_their_documented_shape_are_unexpected(
    hostile: Callable[..., HostileServer], name: str, path: str, params: dict[str, str], body: dict[str, Any]
) -> None:
    server = answering(hostile, Reply.json(body))
    answer = BitbucketClient(server.url + "/2.0", "Bearer token", retry_backoff=0).get(path, params)
    assert answer.status is None and answer.transport_failure is UnexpectedAnswerError
    assert answer.transport_error is not None and "answered something unexpected" in answer.transport_error


@pytest.mark.parametrize("reply", [Reply.json({"type": "error", "error": {"message": "boom"}}), Reply.gzip_bomb(),
                                   Reply.drip(b'{"username": "alice"}', every=0.05)],
                         ids=["200 error body", "gzip bomb", "drip"])
def test_a_hostile_bitbucket_makes_the_preflight_inconclusive_never_a_pass(
    hostile: Callable[..., HostileServer], reply: Reply, sentinel: str
) -> None:
    server = answering(hostile, reply)
    auth = parse_connector({"name": "x", "workspace": "acme", "auth": {
        "type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": sentinel}}).auth
    result = run_preflight(auth, "acme", api_url=server.url + "/2.0", cache=None, retry_backoff=0, timeout=DEADLINE)
    assert result.status is PreflightStatus.INCONCLUSIVE
    assert sentinel not in str(result.to_dict()) + result.summary()
