"""What the Pulumi CLI is shown, on its own: check failures, one-time warnings, scrubbed errors."""

from __future__ import annotations

import pytest

from sg_bitbucket_iac.errors import BitbucketConnectorError
from sg_bitbucket_iac.model import Problem
from sg_bitbucket_iac.pulumi.diagnostics import check_failures, clean_errors, warn_once


def test_problems_land_on_their_property_scrubbed_and_unknown_ones_wait(sentinel: str) -> None:
    problems = [Problem("auth.email", f"{sentinel} is no email"), Problem("auth.api_token", "too short"),
                Problem("id", "not an Id")]
    failures = check_failures(problems, {"api_token"}, [sentinel])
    assert [(f.property, f.reason) for f in failures] == [("email", "**** is no email"), ("connector_id", "not an Id")]


def test_a_warning_is_printed_once_per_process_with_escapes_shown(capsys: pytest.CaptureFixture[str]) -> None:
    text = "warned once \x1b[31m (test_diagnostics)"
    warn_once(text)
    warn_once(text)
    err = capsys.readouterr().err
    assert err == "warning: BitbucketConnector: warned once \\x1b[31m (test_diagnostics)\n"


def test_an_unexpected_error_leaves_as_a_short_scrubbed_message_without_its_cause(sentinel: str) -> None:
    with pytest.raises(BitbucketConnectorError) as caught, clean_errors("read", {"api_token": sentinel}):
        raise KeyError(sentinel + "x" * 1000)
    text = str(caught.value)
    assert text.startswith("read: unexpected KeyError: ") and sentinel not in text and len(text) < 600
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_exists_message_names_every_way_on() -> None:
    from sg_bitbucket_iac.errors import ConnectorExistsError
    from sg_bitbucket_iac.wording import PULUMI_WORDING

    text = str(ConnectorExistsError("main_1", "acme", hint=PULUMI_WORDING.exists.format(id="main_1")))
    assert "adopt=True" in text and 'BitbucketConnector.get(name, "main_1")' in text and "another connector_id" in text
