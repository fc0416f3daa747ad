"""What either Pulumi provider shows a person (pulumi/messages.py): one implementation for both fronts."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.errors import BitbucketConnectorError, ConnectorValidationError, Problem, SGBitbucketError
from sg_bitbucket_iac.pulumi.messages import SaidOnce, check_reasons, clean_errors, shown
from sg_bitbucket_iac.wording import NATIVE_PULUMI_WORDING, PULUMI_WORDING, FrontWording


def test_texts_are_scrubbed_escaped_and_one_line_when_asked(sentinel: str) -> None:
    text = f"first {sentinel}\nsecond \x1b[31m"
    assert shown(text, [sentinel]) == "first ****\nsecond \\x1b[31m"
    assert shown(text, [sentinel], one_line=True) == "first ****; second \\x1b[31m"


def test_problems_land_on_their_flat_key_and_unknown_ones_wait(sentinel: str) -> None:
    problems = [Problem("auth.scope", f"{sentinel}\nbad"), Problem("auth.api_token", "too short")]
    assert check_reasons(problems, {"api_token"}, [sentinel], one_line=True) == [("access_token_scope", "****; bad")]


@pytest.mark.parametrize(("wording", "named"), [(PULUMI_WORDING, "access_token_scope"),
                                                (NATIVE_PULUMI_WORDING, "accessTokenScope")])
def test_validation_errors_name_the_property_as_the_front_spells_it(wording: FrontWording, named: str) -> None:
    with pytest.raises(BitbucketConnectorError) as caught, clean_errors("check", wording=wording):
        raise ConnectorValidationError([Problem("auth.scope", "is one of repository, project, workspace")])
    assert str(caught.value) == f"check: invalid connector: {named}: is one of repository, project, workspace"


def test_every_error_leaves_as_one_scrubbed_error_without_its_cause(sentinel: str) -> None:
    for raised, expected in ((SGBitbucketError(f"refused {sentinel}\nby the server"), "create: refused ****; by the "
                              "server"), (BitbucketConnectorError(f"told {sentinel}"), "told ****")):
        with pytest.raises(BitbucketConnectorError) as caught, clean_errors(
                "create", {"api_token": sentinel}, wording=NATIVE_PULUMI_WORDING, one_line=True):
            raise raised
        assert str(caught.value) == expected
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(BitbucketConnectorError) as unexpected, clean_errors(
            "read", wording=PULUMI_WORDING, extra=(sentinel,)):
        raise KeyError(sentinel + "x" * 1000)
    assert str(unexpected.value).startswith("read: unexpected KeyError: ") and sentinel not in str(unexpected.value)
    assert len(str(unexpected.value)) < 600


def test_a_warning_is_said_once_per_process(sentinel: str) -> None:
    said: list[str] = []
    once = SaidOnce().wrap(said.append)
    once(sentinel)
    once(sentinel)
    once(sentinel + "2")
    assert said == [sentinel, sentinel + "2"]


def test_an_unexpected_error_leaves_as_a_short_scrubbed_message_without_its_cause(sentinel: str) -> None:
    with pytest.raises(BitbucketConnectorError) as caught, clean_errors("read", {"api_token": sentinel},
                                                                        wording=PULUMI_WORDING):
        raise KeyError(sentinel + "x" * 1000)
    text = str(caught.value)
    assert text.startswith("read: unexpected KeyError: ") and sentinel not in text and len(text) < 600
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_exists_message_names_every_way_on() -> None:
    from sg_bitbucket_iac.errors import ConnectorExistsError

    text = str(ConnectorExistsError("main_1", "acme", hint=PULUMI_WORDING.exists.format(id="main_1")))
    assert "adopt=True" in text and 'BitbucketConnector.get(name, "main_1")' in text and "another connector_id" in text
