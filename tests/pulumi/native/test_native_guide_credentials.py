"""The native provider with preflight on, for credentials made exactly as StackGuardian's guide says (issue 20).

Every kind and level (tests/guide_credentials.py), as the engine calls the plugin for a new resource:
Check, then Create. The guide's set passes Check and is created; a set missing one scope of the row
fails Check on the secret property (camelCase), naming the scope in the guide's words, and a Create
sent anyway (a credential unknown at preview) is refused the same way before anything is written.
"""

from __future__ import annotations

import grpc
import pytest
from guide_credentials import GuideCredential, guide_cases, seeded_without
from native_driver import plain, running, unwrap

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.wording import camel_case


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_check_and_create_with_preflight_on(emulator: Emulator, sentinel: str, monkeypatch: pytest.MonkeyPatch,
                                            guide: GuideCredential, left_out: str | None) -> None:
    secret = f"{sentinel}-{guide.id}"
    named = seeded_without(emulator, monkeypatch, guide, left_out, secret)
    props = {"name": "guide-connector", "workspace": "acme",
             **{camel_case(k): v for k, v in guide.flat_fields(secret, "PLAT").items()}}
    secret_property = camel_case(guide.secret_field)
    with running() as driver:
        driver.configure(emulator)  # preflight on: the provider config does not turn it off
        failures = {f.property: f.reason for f in driver.check(props).failures}
        if named is None:
            assert failures == {}
            created = driver.create(props)
            outs = unwrap(plain(created.properties))
            assert created.id == "guide_connector" and outs["authenticated"] is True and outs["authType"] == guide.kind
            return
        assert list(failures) == [secret_property] and named in failures[secret_property]
        assert secret not in failures[secret_property]
        with pytest.raises(grpc.RpcError) as caught:
            driver.create(props)
    assert "preflight failed" in caught.value.details() and named in caught.value.details()
    assert secret not in caught.value.details()
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    assert not any(by_method.get(m) for m in ("POST", "PATCH", "PUT", "DELETE"))
