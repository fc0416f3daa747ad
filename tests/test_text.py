"""Control characters from outside are shown escaped, in the CLI and in the errors every front prints."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BadRequestError
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.text import escape_control
from sg_bitbucket_iac.wire import to_create_payload


def test_escape_control() -> None:
    assert escape_control("plain text, ünïcode") == "plain text, ünïcode"
    assert escape_control("a\x1b[31mb\x07c\u202ed\x00") == "a\\x1b[31mb\\x07c\\u202ed\\x00"
    assert escape_control("two\nlines\tok") == "two\nlines\tok"
    assert escape_control("one\nline", keep="") == "one\\x0aline"


def test_server_messages_in_errors_are_escaped(emulator: Emulator) -> None:
    emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": "integrations",
                                       "status": 400, "body": {"msg": "name \x1b]0;pwned\x07 is bad\x1b[2J"}})
    client = StackGuardianClient(emulator.stackguardian_url, "sgo_test_key", "acme", retries=0)
    connector = parse_connector({"name": "x", "workspace": "acme", "auth": {
        "type": "access_token", "access_token": "t" * 24}})
    with pytest.raises(BadRequestError) as caught:
        client.create(to_create_payload(connector))
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)
    assert "\\x1b]0;pwned\\x07 is bad" in str(caught.value)


def test_bitbucket_messages_in_preflight_results_are_escaped(emulator: Emulator) -> None:
    from sg_bitbucket_iac.preflight import run_preflight
    from sg_bitbucket_iac.secrets import Secret

    emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme"})
    emulator.admin("POST", "/faults", {"api": "bitbucket", "path_regex": ".", "status": 403,
                                       "body": {"type": "error", "error": {"message": "no \x1b[2J way"}}})
    auth = parse_connector({"name": "x", "workspace": "acme", "auth": {
        "type": "api_token", "username": "alice", "email": "alice@acme.io", "api_token": "t" * 24}}).auth
    assert auth.secret == Secret("t" * 24)
    result = run_preflight(auth, "acme", api_url=emulator.bitbucket_url, cache=None, retry_backoff=0)
    texts = [check.message for check in result.checks] + [result.summary()]
    assert not any("\x1b" in text for text in texts)
    assert any("no \\x1b[2J way" in text for text in texts), texts
