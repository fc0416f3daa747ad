"""The owner rules on their own (ownership.py): who owns, who may write, what a take-over leaves."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.errors import ForeignOwnerError
from sg_bitbucket_iac.ownership import check_foreign_tool, check_write, owner_tags
from sg_bitbucket_iac.tags import (
    APPLIED_TAG,
    FINGERPRINT_TAG,
    LAST_WRITE_TAG,
    MANAGED_TAG,
    OWNER_TAG,
    SET_TAG,
    WORKSPACE_TAG,
    Front,
)

CLI_TAGS = {OWNER_TAG: "cli", MANAGED_TAG: "true", APPLIED_TAG: "{}", FINGERPRINT_TAG: "f",
            LAST_WRITE_TAG: "1", WORKSPACE_TAG: "acme", "team": "x"}


def test_another_fronts_connector_needs_adopt_and_adopt_moves_it() -> None:
    with pytest.raises(ForeignOwnerError, match=r"owned by cli.*import <address> c1"):
        check_write("c1", CLI_TAGS, Front.TERRAFORM, adopt=False)
    change = check_write("c1", CLI_TAGS, Front.TERRAFORM, adopt=True)
    assert change is not None and (change.previous, change.new) == (Front.CLI, Front.TERRAFORM)
    assert "now owned by terraform" in change.message and "no longer prunes" in change.message
    assert "the next apply makes terraform its owner" in change.pending_message  # an import says it ahead
    assert "no longer prunes" in change.pending_message
    assert check_write("c1", CLI_TAGS, Front.CLI, adopt=False) is None  # its own
    assert check_write("c1", CLI_TAGS, None, adopt=False) is None  # front-less commands decide themselves
    unowned = check_write("c1", {}, Front.PULUMI, adopt=False)
    assert unowned is not None and unowned.previous is None


def test_the_refusal_says_how_to_take_over_in_the_writing_fronts_words() -> None:
    """Two fronts share the owner `pulumi` (dynamic and native): the writer's own table words the take-over."""
    from sg_bitbucket_iac.wording import NATIVE_PULUMI_WORDING

    with pytest.raises(ForeignOwnerError, match=r"owned by cli.*`adopt=True` on the BitbucketConnector"):
        check_write("c1", CLI_TAGS, Front.PULUMI, adopt=False)
    with pytest.raises(ForeignOwnerError, match=r"owned by cli.*`adopt: true` on the sgbitbucket Connector"):
        check_write("c1", CLI_TAGS, Front.PULUMI, adopt=False, wording=NATIVE_PULUMI_WORDING)
    with pytest.raises(ForeignOwnerError, match=r"\(`pulumi state delete <urn>`.*`adopt: true` on the sgbitbucket"):
        check_write("c1", CLI_TAGS, Front.PULUMI, adopt=False, in_state=True, wording=NATIVE_PULUMI_WORDING)


def test_a_take_over_drops_the_clis_bookkeeping_and_keeps_the_rest() -> None:
    assert owner_tags(CLI_TAGS, Front.TERRAFORM) == {OWNER_TAG: "terraform", WORKSPACE_TAG: "acme", "team": "x"}
    assert owner_tags(CLI_TAGS, Front.CLI) == {**CLI_TAGS, SET_TAG: "default"}
    assert owner_tags(CLI_TAGS, Front.CLI, "team")[SET_TAG] == "team"
    assert owner_tags(CLI_TAGS, None) == CLI_TAGS


def test_migrate_refuses_terraform_and_pulumi_connectors_only() -> None:
    check_foreign_tool("c1", CLI_TAGS, "migrate")
    check_foreign_tool("c1", {}, "migrate")
    for owner, where in (("terraform", 'set auth_type = "api_token".*`terraform apply`'),
                         ("pulumi", "auth=ApiTokenAuth.*`pulumi up`")):
        with pytest.raises(ForeignOwnerError, match=f"owned by {owner}.*{where}") as caught:
            check_foreign_tool("c1", {OWNER_TAG: owner}, "migrate")
        # In the owner's words only: neither "take it over with" nor a way back to `sg-bitbucket migrate`.
        assert "take it over" not in str(caught.value) and "sg-bitbucket " not in str(caught.value)
