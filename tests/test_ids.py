"""Ids StackGuardian can hold vs Ids we derive (field_rules.py), and the name-clash rule (name_clash.py)."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.errors import NameClashError
from sg_bitbucket_iac.field_rules import DERIVED_ID_RE, derive_id, is_held_id
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.name_clash import check_name_free, same_name_elsewhere
from sg_bitbucket_iac.wire import ObservedConnector, observed_from_record
from sg_bitbucket_iac.wording import PULUMI_WORDING, TERRAFORM_WORDING, FrontWording

AUTH = {"type": "access_token", "access_token": "SENTINEL-ids-0123456789", "repository": "infra"}


@pytest.mark.parametrize("value", ["bitbucket_main", "team-pipelines", "A-1_b", "x" * 99])
def test_ids_the_api_holds_are_accepted(value: str) -> None:
    assert is_held_id(value)
    assert parse_connector({"name": "n", "id": value, "workspace": "acme", "auth": AUTH}).connector_id == value


@pytest.mark.parametrize("value", ["has space", "a/b", "x" * 100, "dot.ted", ""])
def test_ids_the_api_cannot_hold_are_refused(value: str) -> None:
    assert not is_held_id(value)


@pytest.mark.parametrize("name", ["Team pipelines", "bitbucket-main", "ünïcode name", "a.b/c"])
def test_derived_ids_keep_the_stricter_documented_rule(name: str) -> None:
    derived = derive_id(name)
    assert DERIVED_ID_RE.match(derived) and is_held_id(derived)


def _observed(connector_id: str, name: str) -> ObservedConnector:
    return observed_from_record({"Id": connector_id, "ResourceName": name, "Settings": {"kind": "BITBUCKET_ORG"}})


def test_a_name_used_under_another_id_is_a_clash_naming_both_ways_out() -> None:
    desired = parse_connector({"name": "bitbucket-main", "workspace": "acme", "auth": AUTH})
    others = [_observed("zz", "other"), _observed("bitbucket-main", "bitbucket-main")]
    assert same_name_elsewhere(desired, others) == others[1]
    with pytest.raises(NameClashError) as caught:
        check_name_free(desired, others, "acme")
    assert "`id: bitbucket-main`" in str(caught.value) and "`adopt: true`" in str(caught.value)
    check_name_free(desired, [_observed("bitbucket_main", "bitbucket-main")], "acme")  # the same connector


@pytest.mark.parametrize(("front", "says"), [
    (TERRAFORM_WORDING, 'import <address> bitbucket-main`'),
    (PULUMI_WORDING, '`connector_id="bitbucket-main"` and `adopt=True`'),
])
def test_the_clash_says_how_to_declare_the_holder_in_the_fronts_words(front: FrontWording, says: str) -> None:
    desired = parse_connector({"name": "bitbucket-main", "workspace": "acme", "auth": AUTH})
    with pytest.raises(NameClashError) as caught:
        check_name_free(desired, [_observed("bitbucket-main", "bitbucket-main")], "acme", front)
    assert says in str(caught.value) and "`id:" not in str(caught.value)
