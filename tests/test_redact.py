"""Redaction (sg_bitbucket_iac.redact): secrets scrubbed in every wire form, control characters escaped,
in the module itself and in the errors every front prints."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BadRequestError
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.redact import control_characters, escape_control, mask, scrub_text
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.wire import to_create_payload

SENTINEL = "SENTINEL-redact-9f8e7d6c5b4a3210"


def test_redact_and_errors_are_leaves_at_run_time() -> None:
    """The leaf rule at run time (the import-linter contract checks it statically): importing redact and
    errors loads no other module of the package, so any module can use them without an import loop."""
    code = ("import json, sys, sg_bitbucket_iac.redact, sg_bitbucket_iac.errors; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('sg_bitbucket_iac'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == ["sg_bitbucket_iac", "sg_bitbucket_iac.errors", "sg_bitbucket_iac.redact"]


def test_mask_shows_at_most_the_last_four_characters_of_a_long_secret() -> None:
    assert mask(SENTINEL) == "****3210"
    assert mask("short-secret") == "****"  # too short for four characters to be a negligible part


def test_escape_control() -> None:
    assert escape_control("plain text, ünïcode") == "plain text, ünïcode"
    assert escape_control("a\x1b[31mb\x07c\u202ed\x00") == "a\\x1b[31mb\\x07c\\u202ed\\x00"
    assert escape_control("two\nlines\tok") == "two\nlines\tok"
    assert escape_control("one\nline", keep="") == "one\\x0aline"


def test_scrub_covers_every_wire_form_of_a_secret() -> None:
    secret = SENTINEL + "/+ &%"
    pair = f"alice@acme.io:{secret}"
    forms = {
        "raw": secret,
        "user:secret": f"bob:{secret}",
        "basic": "Basic " + base64.b64encode(pair.encode()).decode(),
        "basic-urlsafe": base64.urlsafe_b64encode(pair.encode()).decode().rstrip("="),
        "bearer": f"Bearer {secret}",
        "repr": repr(secret + "\n"),
        "bytes-repr": str((secret + "\n").encode()),
        "json": json.dumps({"token": secret + '"'}),
        "url": quote(secret, safe=""),
        "url-lower": quote(secret, safe="").lower(),
        "url-plus": quote_plus(secret),
    }
    for name, text in forms.items():
        cleaned = scrub_text(f"server said: {text} (end)", [secret])
        assert SENTINEL not in cleaned, name
        assert base64.b64encode(pair.encode()).decode()[:20] not in cleaned, name
        assert cleaned.startswith("server said: ") and cleaned.endswith(" (end)"), name
    # A pair given as one secret (bitbucketCreds) scrubs its secret half alone, too.
    assert SENTINEL not in scrub_text(f"x {secret} y", [f"alice:{secret}"])
    # Ordinary words survive.
    assert scrub_text("nothing secret here, ordinary base64 aGVsbG8gd29ybGQ=", [secret]) == \
        "nothing secret here, ordinary base64 aGVsbG8gd29ybGQ="


def test_control_characters_are_named_never_shown() -> None:
    assert control_characters("plain") == []
    assert control_characters(SENTINEL + "\x1b\n\u202e") == ["U+000A", "U+001B", "U+202E"]
    assert control_characters(SENTINEL + "\x00\t") == ["U+0000", "U+0009"]  # the names, never the value


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
