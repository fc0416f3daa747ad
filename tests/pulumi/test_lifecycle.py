"""The Pulumi lifecycle both Pulumi fronts run (pulumi/lifecycle.py), called directly with each front's words.

The dynamic ``BitbucketConnector`` and the native ``sgbitbucket`` provider differ here only by their
:class:`PulumiFront`: the same declaration meets the same engine, writes the same record and gives the
same outputs; what differs is how each names things (property names, config keys, `get` or import).
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_helpers import API_KEY, ORG, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.errors import BitbucketConnectorError, ConfigurationError
from sg_bitbucket_iac.pulumi.lifecycle import UNKNOWN, Lifecycle, PulumiFront, flag
from sg_bitbucket_iac.pulumi.native.backend import NATIVE_FRONT
from sg_bitbucket_iac.pulumi.provider import DYNAMIC_FRONT
from sg_bitbucket_iac.tags import OWNER_TAG

FRONTS = [pytest.param(DYNAMIC_FRONT, id="dynamic"), pytest.param(NATIVE_FRONT, id="native")]
VOLATILE = ("created_at", "modified_at")  # the emulator's clock moves between two creates


def lifecycle(emulator: Emulator, front: PulumiFront, said: list[str] | None = None, **config: Any) -> Lifecycle:
    made = Lifecycle(front, (said if said is not None else []).append)
    made.configure({"apiKey": API_KEY, "apiUrl": emulator.stackguardian_url, "org": ORG,
                    "bitbucketApiUrl": emulator.bitbucket_url, **config})
    return made


def declared(token: str, **extra: Any) -> dict[str, Any]:
    return {"name": "bitbucket-main", "workspace": "acme", "auth_type": "api_token", "username": "alice",
            "email": "alice@acme.io", "api_token": token, **extra}


def test_both_fronts_write_the_same_record_and_give_the_same_outputs(
    emulator: Emulator, tokens: dict[str, str]
) -> None:
    outputs = {}
    records = {}
    for front in (DYNAMIC_FRONT, NATIVE_FRONT):
        connector_id, outs = lifecycle(emulator, front).create(declared(tokens["api"]), preview=False)
        assert connector_id == "bitbucket_main"
        outputs[front.read_by_id] = {k: v for k, v in outs.items() if k not in VOLATILE}
        record = raw_record(emulator)
        records[front.read_by_id] = (record["ResourceName"], record["Settings"], record["ContextTags"][OWNER_TAG])
        lifecycle(emulator, front).delete(connector_id, outs)
    assert outputs["import"] == outputs["BitbucketConnector.get"]
    assert records["import"] == records["BitbucketConnector.get"]
    assert records["import"][2] == "pulumi"  # one owner for both Pulumi fronts: a stack moves without a write


@pytest.mark.parametrize("front", FRONTS)
def test_a_problem_lands_on_the_flat_key_whatever_the_front_calls_it(
    emulator: Emulator, tokens: dict[str, str], front: PulumiFront
) -> None:
    checked = lifecycle(emulator, front).check({}, declared(tokens["api"], email="no-at", adopt="flase"),
                                               resource_name="main")
    reasons = {failure.key: failure.reason for failure in checked.failures}
    assert set(reasons) == {"email", "adopt"}
    assert reasons["adopt"] == "adopt='flase' is not a boolean; use true or false"
    assert tokens["api"] not in " ".join(reasons.values())


@pytest.mark.parametrize("front", FRONTS)
def test_a_bad_flag_is_refused_before_any_request(
    emulator: Emulator, tokens: dict[str, str], front: PulumiFront
) -> None:
    emulator.admin("DELETE", "/stats")
    with pytest.raises(BitbucketConnectorError, match="preflight='sometimes' is not a boolean"):
        lifecycle(emulator, front).create(declared(tokens["api"], preflight="sometimes"), preview=False)
    assert emulator.admin("GET", "/stats")["stackguardian"]["total"] == 0


@pytest.mark.parametrize(("front", "org_key", "key_key"), [
    pytest.param(DYNAMIC_FRONT, "stackguardian:org", "stackguardian:apiKey", id="dynamic"),
    pytest.param(NATIVE_FRONT, "sgbitbucket:org", "sgbitbucket:apiKey", id="native"),
])
def test_missing_settings_name_the_fronts_own_config_keys(
    emulator: Emulator, front: PulumiFront, org_key: str, key_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SG_ORG", "STACKGUARDIAN_ORG_NAME", "SG_API_TOKEN", "STACKGUARDIAN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    no_org = Lifecycle(front, print)
    no_org.configure({"apiKey": API_KEY, "apiUrl": emulator.stackguardian_url})
    with pytest.raises(BitbucketConnectorError, match=f"pulumi config set {org_key} ORG"):
        no_org.engine()
    no_key = Lifecycle(front, print)
    no_key.configure({"org": ORG, "apiUrl": emulator.stackguardian_url})
    with pytest.raises(BitbucketConnectorError, match=f"pulumi config set --secret {key_key} KEY"):
        no_key.engine()


@pytest.mark.parametrize(("front", "lookup"), [
    pytest.param(DYNAMIC_FRONT, "BitbucketConnector.get needs the Id", id="dynamic"),
    pytest.param(NATIVE_FRONT, "import needs the Id", id="native"),
])
def test_a_read_without_state_of_a_missing_id_is_an_error_in_the_fronts_words(
    emulator: Emulator, front: PulumiFront, lookup: str
) -> None:
    with pytest.raises(BitbucketConnectorError, match=lookup):
        lifecycle(emulator, front).read("nothing_here", {}, {})


def test_only_the_native_import_says_what_the_next_up_does(emulator: Emulator, tokens: dict[str, str]) -> None:
    """A read without state is an import the next `pulumi up` manages (native), or a read-only `get` (dynamic)."""
    lifecycle(emulator, DYNAMIC_FRONT).create(declared(tokens["api"]), preview=False)
    said_dynamic: list[str] = []
    got = lifecycle(emulator, DYNAMIC_FRONT, said_dynamic).read("bitbucket_main", {}, {})
    said_native: list[str] = []
    imported = lifecycle(emulator, NATIVE_FRONT, said_native).read("bitbucket_main", {}, {})
    assert got.outputs == imported.outputs and tokens["api"] not in str(got.outputs)
    assert said_dynamic == []
    assert any("set the credential (apiToken) in the program" in text for text in said_native)


@pytest.mark.parametrize(("front", "property_name"), [
    pytest.param(DYNAMIC_FRONT, "connector_id", id="dynamic"), pytest.param(NATIVE_FRONT, "connectorId", id="native"),
])
def test_lookup_names_the_property_as_the_front_spells_it(
    emulator: Emulator, front: PulumiFront, property_name: str
) -> None:
    found, failures = lifecycle(emulator, front).lookup("a", "b")
    assert found == {} and failures[0].reason == f"give exactly one of {property_name} and name (got " \
                                                 f"{property_name} and name)"


def test_flags_read_the_settings_words_and_defer_when_unset_or_unknown() -> None:
    assert flag(None, "adopt") is None and flag("", "adopt") is None and flag(UNKNOWN, "adopt") is None
    assert flag("yes", "adopt") is True and flag(" OFF ", "adopt") is False and flag(False, "adopt") is False
    with pytest.raises(ConfigurationError, match="adopt='sometimes' is not a boolean"):
        flag("sometimes", "adopt")
