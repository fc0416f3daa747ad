"""The opt-in log: off unless asked for, one handler however often it is configured, never a secret."""

from __future__ import annotations

import base64
import logging

import pytest

from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.logs import LOG_ENV, configure, unconfigure

SECRET = "SENTINEL-log-secret-0123456789"


def test_off_unless_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    configure({}, {SECRET})
    logging.getLogger("sg_bitbucket_iac.test").warning("not shown")
    assert "not shown" not in capsys.readouterr().err


def test_lines_are_scrubbed_and_escaped_and_configured_once(capsys: pytest.CaptureFixture[str]) -> None:
    seen: set[str] = set()
    configure({LOG_ENV: "info"}, seen)
    configure({LOG_ENV: " INFO "}, seen)  # in-process runs configure again: still one handler
    seen.add(SECRET)  # learnt after configure: scrubbed all the same
    logger = logging.getLogger("sg_bitbucket_iac.test")
    logger.info("sent %s then \x1b[2J%s", SECRET, "done")
    basic = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    logger.info("header Basic %s", basic)  # every form a secret takes on the wire, not only the raw one
    logger.debug("below the level")
    err = capsys.readouterr().err
    assert err.count("sg-bitbucket-iac INFO sg_bitbucket_iac.test: sent **** then \\x1b[2Jdone") == 1, err
    assert "header Basic ****" in err and basic not in err
    assert SECRET not in err and "\x1b" not in err and "below the level" not in err
    unconfigure()
    logger.warning("after the run")
    assert "after the run" not in capsys.readouterr().err


def test_an_unknown_level_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(ConfigurationError, match="debug, info, warning"):
        configure({LOG_ENV: "loud"})
