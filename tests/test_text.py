"""Control characters from outside are shown escaped, in the CLI and in the errors every front prints."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BadRequestError
from sg_bitbucket_iac.model import parse_connector, to_create_payload
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.text import escape_control


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
