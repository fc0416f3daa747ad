"""The opt-in log: off unless asked for, one handler however often it is configured, never a secret."""

from __future__ import annotations

import logging

import pytest

from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.logs import LOG_ENV, configure, unconfigure

SECRET = "SENTINEL-log-secret-0123456789"


def scrub(text: str) -> str:
    return text.replace(SECRET, "****6789")


def test_off_unless_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    configure({}, scrub)
    logging.getLogger("sg_bitbucket_iac.test").warning("not shown")
    assert "not shown" not in capsys.readouterr().err


def test_lines_are_scrubbed_and_escaped_and_configured_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure({LOG_ENV: "info"}, scrub)
    configure({LOG_ENV: " INFO "}, scrub)  # in-process runs configure again: still one handler
    logger = logging.getLogger("sg_bitbucket_iac.test")
    logger.info("sent %s then \x1b[2J%s", SECRET, "done")
    logger.debug("below the level")
    err = capsys.readouterr().err
    assert err.count("sg-bitbucket-iac INFO sg_bitbucket_iac.test: sent ****6789 then \\x1b[2Jdone") == 1, err
    assert SECRET not in err and "\x1b" not in err and "below the level" not in err
    unconfigure()
    logger.warning("after the run")
    assert "after the run" not in capsys.readouterr().err


def test_an_unknown_level_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(ConfigurationError, match="debug, info, warning"):
        configure({LOG_ENV: "loud"}, scrub)
