"""The native provider with preflight on, for credentials made exactly as StackGuardian's guide says (issue 20).

Every kind and level (tests/guide_credentials.py), as the engine calls the plugin for a new resource:
Check, then Create. The guide's set passes Check and is created; a set missing one scope of the row
fails Check on the secret property (camelCase), naming the scope in the guide's words, and a Create
sent anyway (a credential unknown at preview) is refused the same way before anything is written.
"""

from __future__ import annotations

import grpc
import pytest
from guide_credentials import APP_PASSWORDS_STILL_WORK, GuideCredential, guide_cases, scopes_without
from native_driver import plain, running, unwrap
from seeding import seed_workspace

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.wording import camel_case

PROJECT = "PLAT"  # the project tests/seeding.py creates, holding repository infra


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_check_and_create_with_preflight_on(emulator: Emulator, sentinel: str, monkeypatch: pytest.MonkeyPatch,
                                            guide: GuideCredential, left_out: str | None) -> None:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", APP_PASSWORDS_STILL_WORK)
    emulator.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})
    seed_workspace(emulator)
    secret = f"{sentinel}-{guide.id}"
    guide.seed(emulator, secret, scopes_without(guide, left_out), project=PROJECT)
    props = {"name": "guide-connector", "workspace": "acme",
             **{camel_case(k): v for k, v in guide.flat_fields(secret, PROJECT).items()}}
    secret_property = camel_case(guide.secret_field)
    words = guide.failure_without(left_out) if left_out else None
    with running() as driver:
        driver.configure(emulator)  # preflight on: the provider config does not turn it off
        failures = {f.property: f.reason for f in driver.check(props).failures}
        if words is None:
            assert failures == {}
            created = driver.create(props)
            outs = unwrap(plain(created.properties))
            assert created.id == "guide_connector" and outs["authenticated"] is True and outs["authType"] == guide.kind
            return
        named = f"lacks {words} ({left_out})"
        assert list(failures) == [secret_property] and named in failures[secret_property]
        assert secret not in failures[secret_property]
        with pytest.raises(grpc.RpcError) as caught:
            driver.create(props)
    assert "preflight failed" in caught.value.details() and named in caught.value.details()
    assert secret not in caught.value.details()
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    assert not any(by_method.get(m) for m in ("POST", "PATCH", "PUT", "DELETE"))
