"""The CLI with credentials made exactly as StackGuardian's guide says (tests/guide_credentials.py).

`preflight`, `validate` and `apply` (preflight on), for every kind and level: the guide's set passes
and `apply` creates the connector; a set missing one scope of the row fails naming it in the guide's
words, and nothing is written. In-process, against the in-process emulator.
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import InProcess
from guide_credentials import APP_PASSWORDS_STILL_WORK, GuideCredential, guide_cases, scopes_without

PROJECT = "INF"  # the project the CLI fixtures seed, holding repository infra
SECRET_ENV = "GUIDE_SECRET"


def definitions(inproc: InProcess, guide: GuideCredential) -> str:
    auth = guide.auth_fields(f"${{env:{SECRET_ENV}}}", PROJECT)
    text = f"connectors:\n  - name: guide-connector\n    workspace: acme\n    auth: {json.dumps(auth)}\n"
    return str(inproc.write("guide.yaml", text))


def preflight_flags(guide: GuideCredential) -> list[str]:
    """`sg-bitbucket preflight`'s flags for the credential (the secret comes from --secret-env)."""
    names = {"username": "--username", "email": "--email", "scope": "--scope", "repository": "--repository",
             "project": "--project"}
    fields = guide.auth_fields("", PROJECT)
    flags = ["--auth-type", guide.kind, "--workspace", "acme", "--secret-env", SECRET_ENV]
    for field, flag in names.items():
        if field in fields:
            flags += [flag, str(fields[field])]
    return flags


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_preflight_validate_and_apply_take_the_guides_credentials_and_name_what_is_missing(
    inproc: InProcess, guide: GuideCredential, left_out: str | None
) -> None:
    inproc.emulator.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})
    inproc.env["SG_BITBUCKET_IAC_NOW"] = APP_PASSWORDS_STILL_WORK
    secret = f"{inproc.sentinel}-{guide.id}"
    guide.seed(inproc.emulator, secret, scopes_without(guide, left_out), project=PROJECT)
    inproc.setenv(SECRET_ENV, secret)
    words = guide.failure_without(left_out) if left_out else None
    path = definitions(inproc, guide)

    checked = inproc.cli("preflight", *preflight_flags(guide), "--json")
    validated = inproc.cli("validate", "-f", path, "--json")
    applied = inproc.cli("apply", "-f", path, "--auto-approve")
    for result in (checked, validated, applied):
        assert inproc.sentinel not in result.output
    report = validated.json()["connectors"][0]["preflight"]
    if words is None:
        assert (checked.code, validated.code, applied.code) == (0, 0, 0), applied.output
        assert checked.json()["status"] == report["status"] == "PASS"
        assert inproc.sg_writes() == 1
        assert inproc.emulator.admin("GET", "/stackguardian/orgs/acme/integrations/guide_connector")["Id"]
        return
    named = f"lacks {words} ({left_out})"
    assert (checked.code, validated.code, applied.code) == (1, 1, 1), applied.output
    assert checked.json()["missing_scopes"] == report["missing_scopes"] == [left_out]
    assert named in checked.json()["summary"] and named in report["summary"]
    assert named in " ".join(applied.output.split())  # rich wraps long lines
    shown = inproc.cli("preflight", *preflight_flags(guide))
    assert shown.code == 1 and f"missing: {words} ({left_out})" in " ".join(shown.output.split())
    assert inproc.sg_writes() == 0
