"""The answer limits (sg_bitbucket_iac.answers): depth measured without recursion, size counted decoded,
Retry-After capped, and waits kept within the call's deadline; on real loopback sockets."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hostile_server import HostileServer, Reply
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict
from urllib3.util import retry as urllib3_retry

from sg_bitbucket_iac.answers import (
    MAX_ANSWER_BYTES,
    MAX_ERROR_ANSWER_BYTES,
    MAX_JSON_DEPTH,
    MAX_RETRY_AFTER_SECONDS,
    CappedRetry,
    UnreadableAnswer,
    call_deadline,
    decode_json,
    json_depth_exceeds,
    json_type,
    read_body,
)
from sg_bitbucket_iac.http import new_session

# Strings full of what could fool a bracket count: brackets, quotes, backslashes, escapes.
TRICKY_TEXT = st.text(alphabet='[]{}"\\/ab\n\x00é', max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    """Nesting depth by recursion: the reference the C-speed scan must agree with."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=300, deadline=None, database=None)
@given(JSON_VALUES, st.integers(min_value=0, max_value=8), st.sampled_from([None, 2]))
def test_the_depth_scan_agrees_with_a_recursive_count(value: Any, limit: int, indent: int | None) -> None:
    body = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    assert json_depth_exceeds(body, limit) is (depth(value) > limit)


def test_hostile_depth_is_refused_before_decoding() -> None:
    deep = b"[" * 1_000_000 + b"]" * 1_000_000  # far past any recursion limit
    assert json_depth_exceeds(deep, MAX_JSON_DEPTH)
    with pytest.raises(UnreadableAnswer, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        decode_json(deep)
    at_the_limit = b'{"a":' * (MAX_JSON_DEPTH - 1) + b"[]" + b"}" * (MAX_JSON_DEPTH - 1)
    assert decode_json(at_the_limit) is not None
    with pytest.raises(UnreadableAnswer, match="deeper"):
        decode_json(b"[" + at_the_limit + b"]")
    # Brackets inside strings are text, not nesting.
    assert decode_json(json.dumps({"msg": "[" * 1000 + '\\"' + "{" * 1000}).encode())["msg"].startswith("[[")


NOT_JSON = [b"<html>Service Unavailable</html>", b"", b"{", b"\xff\xfe\x00", b"1" * 5000, b"NaN]"]


@pytest.mark.parametrize("body", NOT_JSON)
def test_what_is_not_json_is_refused_in_words(body: bytes) -> None:
    with pytest.raises(UnreadableAnswer, match="not JSON"):
        decode_json(body)


def test_json_types_are_named_as_json_names_them() -> None:
    assert [json_type(v) for v in ({}, [], "", 1, 1.5, True, None)] == [
        "object", "array", "string", "number", "number", "boolean", "null"]


# --------------------------------------------------------------------------- size, counted decoded
def fetch(server: HostileServer, reply: Reply, **limits: Any) -> bytes:
    server.clear()
    server.on("GET", "/", reply)
    response = new_session().get(server.url + "/answer", timeout=(2.0, 5.0), stream=True)
    return read_body(response, **limits)


def test_a_gzip_bomb_is_never_inflated_past_the_cap(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableAnswer, match="larger than the 16 MiB accepted"):
            fetch(server, Reply.gzip_bomb(64 * 1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_ANSWER_BYTES  # the 64 MiB it inflates to never were in memory at once


def test_an_endless_body_stops_at_the_cap(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    with pytest.raises(UnreadableAnswer, match="larger than"):
        fetch(server, Reply.endless_chunks(), max_bytes=1024 * 1024)
    (sent,) = server.replies_sent(1)
    assert sent < 64 * 1024 * 1024  # the client went away; the server noticed


def test_a_declared_length_over_the_cap_is_refused_before_reading(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    with pytest.raises(UnreadableAnswer, match="2,000,000 bytes, more than the 1,000 bytes accepted"):
        fetch(server, Reply(200, (("Content-Length", "2000000"),), lambda: iter([b" " * 65536] * 31)),
              max_bytes=1000)


def test_error_answers_are_read_for_their_message_only(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    with pytest.raises(UnreadableAnswer, match="65,537 bytes, more than the 65,536 bytes accepted"):
        fetch(server, Reply(503, (), b"x" * (MAX_ERROR_ANSWER_BYTES + 1)))
    assert fetch(server, Reply(503, (), b"busy")) == b"busy"


def test_a_corrupt_compressed_body_is_an_unreadable_answer(hostile: Callable[..., HostileServer]) -> None:
    server = hostile()
    with pytest.raises(UnreadableAnswer, match="cannot be decoded"):
        fetch(server, Reply(200, (("Content-Encoding", "gzip"),), b"this is not gzip at all"))


# --------------------------------------------------------------------------- Retry-After and the call's deadline
class FakeResponse:
    def __init__(self, retry_after: str) -> None:
        self.headers = HTTPHeaderDict({"Retry-After": retry_after})


@pytest.mark.parametrize(("header", "seconds"), [
    ("3600", MAX_RETRY_AFTER_SECONDS), ("99999999999999999999999", MAX_RETRY_AFTER_SECONDS), ("7", 7.0),
    ("soon", None), ("-5", None), ("Wed, 21 Oct 2099 07:28:00 GMT", MAX_RETRY_AFTER_SECONDS),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_is_capped_and_an_unreadable_one_ignored(header: str, seconds: float | None) -> None:
    assert CappedRetry(total=1).get_retry_after(FakeResponse(header)) == seconds  # type: ignore[arg-type]


def test_a_call_deadline_nests_to_the_earlier_one() -> None:
    from sg_bitbucket_iac import answers

    with call_deadline(100.0):
        outer = answers._CALL_DEADLINE.get()
        with call_deadline(1000.0):
            assert answers._CALL_DEADLINE.get() == outer
        with call_deadline(1.0):
            inner = answers._CALL_DEADLINE.get()
            assert inner is not None and outer is not None and inner < outer
    assert answers._CALL_DEADLINE.get() is None


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's retry waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(urllib3_retry.time, "sleep", waits.append)
    return waits


def retrying_get(server: HostileServer, *, deadline: float, retries: int = 3) -> int:
    from sg_bitbucket_iac.answers import LimitedAdapter

    adapter = LimitedAdapter(max_retries=CappedRetry(total=retries, status_forcelist={429, 503},
                                                     backoff_factor=0.5, raise_on_status=False))
    with call_deadline(deadline):
        response = new_session(adapter).get(server.url + "/x", timeout=(2.0, 2.0), stream=True)
        read_body(response)
    return int(response.status_code)


def test_a_long_retry_after_waits_the_cap_within_a_long_deadline(
    hostile: Callable[..., HostileServer], slept: list[float]
) -> None:
    server = hostile()
    server.on("GET", "/x", Reply.json({"msg": "slow down"}, 429, {"Retry-After": "86400"}), times=1)
    server.on("GET", "/x", Reply.json({"msg": "ok"}))
    assert retrying_get(server, deadline=600.0) == 200
    assert slept == [MAX_RETRY_AFTER_SECONDS]


def test_a_wait_past_the_call_deadline_is_not_waited(
    hostile: Callable[..., HostileServer], slept: list[float]
) -> None:
    server = hostile()
    server.on("GET", "/x", Reply.json({"msg": "slow down"}, 429, {"Retry-After": "30"}))
    assert retrying_get(server, deadline=5.0) == 429  # the last answer, at once
    assert slept == [] and server.count("GET", "/x") == 1


def test_an_unreadable_retry_after_falls_back_to_backoff(
    hostile: Callable[..., HostileServer], slept: list[float]
) -> None:
    server = hostile()
    server.on("GET", "/x", Reply.json({"msg": "busy"}, 503, {"Retry-After": "whenever you like"}), times=2)
    server.on("GET", "/x", Reply.json({"msg": "ok"}))
    assert retrying_get(server, deadline=600.0) == 200
    assert slept == [1.0]  # urllib3 waits nothing before the first retry, then 0.5 x 2 ** 1


def test_a_retried_answer_is_not_read(hostile: Callable[..., HostileServer], slept: list[float]) -> None:
    server = hostile()
    server.on("GET", "/x", Reply(503, (), Reply.endless_chunks().body), times=2)
    server.on("GET", "/x", Reply.json({"msg": "ok"}))
    assert retrying_get(server, deadline=600.0) == 200
    assert server.count("GET", "/x") == 3
    assert all(sent < MAX_ANSWER_BYTES for sent in server.replies_sent(2))  # closed, not drained
