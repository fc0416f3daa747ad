"""The Pulumi provider with preflight on, for credentials made exactly as StackGuardian's guide says.

Every kind and level (tests/guide_credentials.py), as the engine calls the provider for a new
resource: Check, then Create. The guide's set passes Check and is created; a set missing one scope of
the row fails Check on the secret property, naming the scope in the guide's words, and a Create sent
anyway (a credential unknown at preview) is refused the same way before anything is written.
"""

from __future__ import annotations

import pytest
from guide_credentials import APP_PASSWORDS_STILL_WORK, GuideCredential, guide_cases, scopes_without
from pulumi_helpers import configured, raw_record, stats
from seeding import seed_workspace

from sg_bitbucket_iac.emulator import Emulator

PROJECT = "PLAT"  # the project tests/seeding.py creates, holding repository infra


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_check_and_create_with_preflight_on(emulator: Emulator, sentinel: str, monkeypatch: pytest.MonkeyPatch,
                                            guide: GuideCredential, left_out: str | None) -> None:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", APP_PASSWORDS_STILL_WORK)
    emulator.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})
    seed_workspace(emulator)
    secret = f"{sentinel}-{guide.id}"
    guide.seed(emulator, secret, scopes_without(guide, left_out), project=PROJECT)
    provider = configured(emulator)  # preflight on: the stack config does not turn it off
    props = {"name": "guide-connector", "workspace": "acme", "adopt": False, **guide.flat_fields(secret, PROJECT)}
    words = guide.failure_without(left_out) if left_out else None

    failures = {f.property: f.reason for f in provider.check({}, props).failures}
    if words is None:
        assert failures == {}
        created = provider.create(props)
        assert created.id == "guide_connector" and created.outs is not None
        assert created.outs["authenticated"] is True and created.outs["auth_type"] == guide.kind
        assert raw_record(emulator, "guide_connector")["Id"] == "guide_connector"
        return
    named = f"lacks {words} ({left_out})"
    assert list(failures) == [guide.secret_field] and named in failures[guide.secret_field]
    assert secret not in failures[guide.secret_field]
    with pytest.raises(Exception, match="preflight failed") as caught:
        provider.create(props)
    assert named in str(caught.value) and secret not in str(caught.value)
    by_method = stats(emulator)["stackguardian"]["by_method"]
    assert not any(by_method.get(m) for m in ("POST", "PATCH", "PUT", "DELETE"))
