"""The StackGuardian emulator's switches for behaviours no public source settles (README, evidence page).

Each test shows both positions of one switch over loopback HTTP, with raw `requests` calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emu_helpers import SG, access_token_config, api_token_config, integration

from sg_bitbucket_iac.emulator import Emulator, StackGuardianOptions
from sg_bitbucket_iac.emulator.server import SWITCHES_ENV

Factory = Callable[..., Emulator]


def raw_config(emulator: Emulator, connector_id: str) -> dict[str, Any]:
    record = emulator.admin("GET", f"/stackguardian/orgs/acme/integrations/{connector_id}")
    config: dict[str, Any] = record["Settings"]["config"][0]
    return config


def bitbucket_settings(config: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "BITBUCKET_ORG", "config": [config]}


# --------------------------------------------------------------------------- patch_answer
@pytest.mark.parametrize("mode", ["fresh", "stale"])
def test_patch_answer_is_fresh_or_the_record_before_the_write(emulator_factory: Factory, mode: str) -> None:
    emulator = emulator_factory(patch_answer=mode, now="2026-01-02T00:00:00Z")
    sg = SG(emulator)
    assert sg.create(integration("old-name", access_token_config("tok-1"), Id="bb")).status_code == 200
    emulator.admin("POST", "/clock", {"now": "2026-01-03T00:00:00Z"})
    answer = sg.patch("bb", {"ResourceName": "new-name"})
    assert answer.status_code == 200
    assert answer.json()["msg"] == "Integration new-name updated"  # the message names the new name either way
    data = answer.json()["data"]
    stored = sg.get("bb").json()["msg"]
    assert stored["ResourceName"] == "new-name"  # the write happened in both modes
    if mode == "fresh":
        assert (data["ResourceName"], data["ModifiedAt"]) == ("new-name", stored["ModifiedAt"])
    else:
        assert (data["ResourceName"], data["ModifiedAt"]) == ("old-name", stored["CreatedAt"])


def test_the_patch_answer_is_fresh_by_default() -> None:
    """The official provider builds its state from the answer's `data` after an update (README: switches)."""
    assert StackGuardianOptions().patch_answer == "fresh"


# --------------------------------------------------------------------------- settings_patch
def test_replacing_server_keeps_nothing_of_the_old_auth_type(emulator: Emulator, sentinel: str) -> None:
    sg = SG(emulator)
    sg.create(integration("bb", api_token_config(sentinel), Id="bb"))
    assert sg.patch("bb", {"Settings": bitbucket_settings(access_token_config(sentinel + "-at"))}).status_code == 200
    assert raw_config(emulator, "bb") == access_token_config(sentinel + "-at")
    # Explicit nulls are accepted and mean "not there".
    body = {**api_token_config(sentinel), "bitbucketAccessToken": None}
    assert sg.patch("bb", {"Settings": bitbucket_settings(body)}).status_code == 200
    assert raw_config(emulator, "bb") == api_token_config(sentinel)


def test_merging_server_keeps_old_keys_unless_they_are_sent_as_null(emulator_factory: Factory, sentinel: str) -> None:
    emulator = emulator_factory(settings_patch="merge")
    sg = SG(emulator)
    sg.create(integration("bb", api_token_config(sentinel), Id="bb"))
    # Without nulls the API-token keys survive a switch to an access token: what the product must avoid.
    assert sg.patch("bb", {"Settings": bitbucket_settings(access_token_config("at-1"))}).status_code == 200
    leftover = raw_config(emulator, "bb")
    assert leftover["bitbucketAuthType"] == "ACCESS_TOKEN"
    assert leftover["bitbucketEmail"] == "alice@acme.io" and leftover["bitbucketCreds"] == f"alice:{sentinel}"
    # With explicit nulls nothing of the old type is left.
    cleared = {**access_token_config("at-2"), "bitbucketCreds": None, "bitbucketEmail": None}
    assert sg.patch("bb", {"Settings": bitbucket_settings(cleared)}).status_code == 200
    assert raw_config(emulator, "bb") == access_token_config("at-2")
    # Keys not sent are kept (merge), so a partial config is completed from the stored one.
    assert sg.patch("bb", {"Settings": bitbucket_settings({"bitbucketAuthType": "ACCESS_TOKEN"})}).status_code == 200
    assert raw_config(emulator, "bb") == access_token_config("at-2")


def test_merging_server_still_refuses_an_incomplete_credential(emulator_factory: Factory) -> None:
    emulator = emulator_factory(settings_patch="merge")
    sg = SG(emulator)
    sg.create(integration("bb", access_token_config("at-1"), Id="bb"))
    incomplete = {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": "a:b"}
    answer = sg.patch("bb", {"Settings": bitbucket_settings(incomplete)})
    assert answer.status_code == 400 and "bitbucketEmail" in answer.json()["msg"]


# --------------------------------------------------------------------------- ContextTags nulls
def test_context_tag_values_may_be_null(sg: SG) -> None:
    body = integration("bb", access_token_config("tok"), Id="bb", ContextTags={"team": "infra", "gone": None})
    assert sg.create(body).status_code == 200
    assert sg.get("bb").json()["msg"]["ContextTags"] == {"team": "infra", "gone": None}
    assert sg.patch("bb", {"ContextTags": {"x": None}}).status_code == 200
    assert sg.get("bb").json()["msg"]["ContextTags"] == {"x": None}
    assert sg.patch("bb", {"ContextTags": {"x": 1}}).status_code == 400


# --------------------------------------------------------------------------- name_lookup
@pytest.mark.parametrize("lookup", [False, True])
def test_name_lookup_switch(emulator_factory: Factory, lookup: bool) -> None:
    sg = SG(emulator_factory(name_lookup=lookup))
    sg.create(integration("Main Workspace", access_token_config("tok"), Id="bb_main"))
    by_name = sg.get("Main Workspace")
    if not lookup:
        assert by_name.status_code == 404
        return
    assert by_name.status_code == 200 and by_name.json()["msg"]["Id"] == "bb_main"
    assert sg.patch("Main Workspace", {"Description": "d"}).json()["data"]["Description"] == "d"
    assert sg.delete("Main Workspace").status_code == 200
    assert sg.get("bb_main").status_code == 404


def test_name_lookup_never_guesses_between_two_connectors_of_one_name(emulator_factory: Factory) -> None:
    sg = SG(emulator_factory(name_lookup=True))
    sg.create(integration("same", access_token_config("tok"), Id="one"))
    sg.create(integration("same", access_token_config("tok"), Id="two"))
    assert sg.get("same").status_code == 404


# --------------------------------------------------------------------------- from the environment
def test_switches_from_the_environment_and_explicit_ones_win(
    monkeypatch: pytest.MonkeyPatch, emulator_factory: Factory
) -> None:
    monkeypatch.setenv(SWITCHES_ENV, "list_item_wrap=true, patch_answer=stale, unknown_org_status=404")
    emulator = emulator_factory(patch_answer="fresh")
    assert emulator.options == StackGuardianOptions(list_item_wrap=True, patch_answer="fresh", unknown_org_status=404)


@pytest.mark.parametrize(
    "text, message",
    [("nonsense", "expected NAME=VALUE"), ("list_item_wrap=maybe", "true or false"), ("patch_answer=old", "fresh")],
)
def test_bad_switch_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StackGuardianOptions(**StackGuardianOptions.from_text(text))


# --------------------------------------------------------------------------- documented
ROOT = Path(__file__).resolve().parents[2]


def _table_rows(markdown: str, heading: str) -> dict[str, str]:
    """The rows of the first table under ``heading``, by the switch in their first cell."""
    section = markdown.split(heading, 1)[1]
    rows: dict[str, str] = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


@pytest.mark.parametrize(
    ("page", "heading"), [("README.md", "### Emulator switches"), ("docs/evidence.md", "## Emulator switches")]
)
def test_every_switch_is_documented_with_its_default(page: str, heading: str) -> None:
    rows = _table_rows((ROOT / page).read_text(encoding="utf-8"), heading)
    defaults = StackGuardianOptions()
    assert set(rows) == {f.name for f in dataclasses.fields(StackGuardianOptions)}
    for name, default_cell in rows.items():
        default = getattr(defaults, name)
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert default_cell.startswith(f"`{shown}`"), (page, name, default_cell)
