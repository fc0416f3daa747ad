"""Limits on every answer from StackGuardian and Bitbucket: its time, its size, its depth, and the waits a
server may ask for. Both clients (and so the preflight) read answers only through this module.

A broken or hostile server (or anything between us and it) can answer slowly, endlessly, deeply or
with a compression bomb; requests and urllib3 guard against none of it by default:

* **Time.** requests' ``timeout`` bounds each socket read, so a body that drips a byte a second never
  ends. Here the read timeout is one *deadline per answer*, counted from the moment the request is
  sent and covering the status line, the headers and the body: before every read of the socket, its
  timeout is set to what is left (:class:`LimitedAdapter`; no thread per request). A call with its
  retries also has a deadline (:func:`call_deadline`), which caps every answer's deadline and every
  wait between attempts.
* **Size.** At most :data:`MAX_ANSWER_BYTES` of *decoded* body are read (:func:`read_body`): a gzip
  bomb or an endless chunked body stops there. urllib3 >= 2.7 inflates only what a read asks for
  (docs/evidence.md#answer-limits), so the bomb never expands in memory.
* **Depth.** JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused before it is decoded
  (:func:`decode_json`); the depth is measured without recursion.
* **Waits.** ``Retry-After`` is honoured up to :data:`MAX_RETRY_AFTER_SECONDS`, an unreadable one is
  ignored (backoff instead), and a wait that would end after the call's deadline is not waited: the
  retries end there with the last answer (:class:`CappedRetry`, a subclass of urllib3's ``Retry``).
  A retried answer's body is never read: its connection is closed instead of drained.

An answer that breaks a limit raises :class:`UnreadableAnswer` (size, depth, not JSON), or the HTTP
library's own timeout for time; each client turns them into its own error or verdict.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # 16 MiB decoded: a listall page of 500 connectors is about 1 MiB
MAX_ERROR_ANSWER_BYTES = 64 * 1024  # an error answer is read for its message only
MAX_JSON_DEPTH = 32  # the deepest documented answer (a wrapped listall item's Settings.config) is 7
MAX_RETRY_AFTER_SECONDS = 60.0
READ_CHUNK_BYTES = 64 * 1024

_CALL_DEADLINE: ContextVar[float | None] = ContextVar("sg_bitbucket_iac_call_deadline", default=None)
_ANSWER_DEADLINE: ContextVar[float | None] = ContextVar("sg_bitbucket_iac_answer_deadline", default=None)


class UnreadableAnswer(Exception):
    """An answer this tool will not use; ``reason`` says why in words, never quoting the body."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# --------------------------------------------------------------------------- time
@contextlib.contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """Everything inside (the request, its retries, their waits) ends within ``seconds``.

    Nested calls keep the earlier deadline. The deadline lives in a context variable, so concurrent
    calls on other threads each have their own.
    """
    ends = time.monotonic() + seconds
    outer = _CALL_DEADLINE.get()
    token = _CALL_DEADLINE.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


def _answer_deadline(read_timeout: object) -> float | None:
    """When the answer now awaited must be complete: the read timeout from now, within the call's deadline."""
    ends = time.monotonic() + read_timeout if isinstance(read_timeout, int | float) else None
    call = _CALL_DEADLINE.get()
    if ends is None or call is None:
        return ends if ends is not None else call
    return min(ends, call)


class _DeadlineReader(io.RawIOBase):
    """The socket reader of one answer: before every read, the socket's timeout is what is left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open while this reader is
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the answer's deadline passed")
        before = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return self._raw.readinto(buffer)
        finally:
            self._sock.settimeout(before)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response whose every read (status line, headers, body) keeps one deadline."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _ANSWER_DEADLINE.get()
        if deadline is not None:
            plain = self.fp
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))
            plain.close()  # the reader http.client made; the socket stays open for the new one


class _DeadlineConnection:
    """Mixin for urllib3's connections: the answer's deadline starts when the request has been sent
    (urllib3 has just set ``timeout`` to the read timeout)."""

    timeout: Any

    def getresponse(self) -> Any:
        token = _ANSWER_DEADLINE.set(_answer_deadline(self.timeout))
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            _ANSWER_DEADLINE.reset(token)


class _HTTPConnection(_DeadlineConnection, HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(_DeadlineConnection, HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class LimitedAdapter(HTTPAdapter):
    """requests' adapter whose connections keep one deadline per answer (the request's read timeout)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # a SOCKS manager has pool classes of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager


# --------------------------------------------------------------------------- waits
class CappedRetry(Retry):
    """urllib3's Retry with a capped ``Retry-After`` and the call's deadline.

    * ``Retry-After`` above :data:`MAX_RETRY_AFTER_SECONDS` waits that long; one that is neither
      seconds nor an HTTP date is ignored (urllib3 would raise ``InvalidHeader`` out of the request).
    * Before each retry, the wait it needs (``Retry-After`` or backoff) is compared with the call's
      deadline: when it would end later, the retries stop as if exhausted, and the last answer (or
      error) is what the caller gets, at once.
    * The body of an answer that is retried is never read: the response is closed (its connection is
      not reused), so a 503 with an endless body costs nothing.
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None
        return None if seconds is None else min(float(seconds), MAX_RETRY_AFTER_SECONDS)

    def increment(self, method: str | None = None, url: str | None = None,  # type: ignore[override]
                  response: BaseHTTPResponse | None = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: Any = None) -> Retry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        deadline = _CALL_DEADLINE.get()
        if deadline is not None and time.monotonic() + _wait_before(retry, response) >= deadline:
            raise MaxRetryError(_pool, url or "", error or ResponseError("the call's deadline leaves no time "
                                                                         "for another attempt"))
        if response is not None:
            response.close()
        return retry


def _wait_before(retry: Retry, response: BaseHTTPResponse | None) -> float:
    """What ``retry.sleep(response)`` is about to wait."""
    if response is not None and retry.respect_retry_after_header:
        after = retry.get_retry_after(response)
        if after:
            return after
    return float(retry.get_backoff_time())


# --------------------------------------------------------------------------- size and depth
def read_body(response: requests.Response, *, max_bytes: int | None = None) -> bytes:
    """The decoded body of a streamed response, at most ``max_bytes`` of it; the response is closed.

    By default a 2xx answer may hold :data:`MAX_ANSWER_BYTES`, any other :data:`MAX_ERROR_ANSWER_BYTES`
    (only its message is read). A body cut short keeps its connection out of the pool. The HTTP
    library's own errors (timeout, dropped connection) pass through for the caller's
    :func:`~sg_bitbucket_iac.http.transport_failure`.
    """
    if max_bytes is None:
        max_bytes = MAX_ANSWER_BYTES if 200 <= response.status_code < 300 else MAX_ERROR_ANSWER_BYTES
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:  # compressed or not, it decodes to no less
            raise UnreadableAnswer(f"its body is {int(declared):,} bytes, more than the {_size(max_bytes)} accepted")
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise UnreadableAnswer(f"its body is larger than the {_size(max_bytes)} accepted")
                parts.append(chunk)
        except requests.exceptions.ContentDecodingError:
            raise UnreadableAnswer("its compressed body cannot be decoded") from None
        return b"".join(parts)
    finally:
        response.close()


def _size(count: int) -> str:
    return f"{count / 1048576:g} MiB" if count >= 1048576 else f"{count:,} bytes"


_STRUCTURE_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests deeper than ``limit``, decided without recursion, in C-speed passes.

    Escaped backslashes and quotes go first (pairs from the left, as a JSON reader takes them), then
    every byte but quotes and brackets, then the strings; the brackets left are stripped of their
    innermost pairs one level per pass, so a text nested ``limit`` deep is empty after ``limit``
    passes (at most ``limit`` passes over a capped answer). Text that is not JSON may be measured
    wrong; the decoder refuses it anyway.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes now only open and close strings: split on them, every other piece is outside a string.
    brackets = b"".join(body.translate(_STRUCTURE_ONLY, _NOT_STRUCTURE).split(b'"')[::2])
    if b"[" * (limit + 1) in brackets:  # a run of openings deeper than the limit: no pass needed
        return True
    for _ in range(limit):
        if not brackets:
            return False
        inner_removed = brackets.replace(b"[]", b"")
        if len(inner_removed) == len(brackets):
            return False
        brackets = inner_removed
    return bool(brackets) and b"[]" in brackets


def decode_json(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of a body (UTF-8, -16 or -32), refused when it is not JSON or nests too deep."""
    if json_depth_exceeds(body, max_depth):
        raise UnreadableAnswer(f"its JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise UnreadableAnswer("its body is not JSON") from None


def json_type(value: Any) -> str:
    """JSON's name for the type of a decoded value (what an error says a body was instead)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_ERROR_ANSWER_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_RETRY_AFTER_SECONDS",
    "CappedRetry",
    "LimitedAdapter",
    "UnreadableAnswer",
    "call_deadline",
    "decode_json",
    "json_depth_exceeds",
    "json_type",
    "read_body",
]
