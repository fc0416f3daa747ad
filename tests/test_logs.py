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


def test_the_terraform_plugin_writes_hclog_json_lines_that_go_plugin_reads(capsys: pytest.CaptureFixture[str]) -> None:
    """One JSON object per line with @level (hclog's names), @message, @module and @timestamp in the layout
    go-plugin parses ("2006-01-02T15:04:05.000000Z07:00"); anything else it would log as plain debug text."""
    import json
    import re

    from sg_bitbucket_iac.logs import configure_provider, remember_secret

    assert configure_provider({LOG_ENV: "debug"}, style="hclog") is None
    remember_secret(SECRET)  # what the engine does with every key and credential it is given
    logger = logging.getLogger("sg_bitbucket_iac.stackguardian")
    logger.debug("GET /api/v1/orgs/acme/integrations/listall/ -> 200")
    logger.warning("sent %s and a \x1b[31m name\nacross lines", SECRET)
    lines = capsys.readouterr().err.splitlines()
    unconfigure()
    first, second = (json.loads(line) for line in lines)
    assert first["@level"] == "debug" and first["@module"] == "sg_bitbucket_iac.stackguardian"
    assert first["@message"] == "GET /api/v1/orgs/acme/integrations/listall/ -> 200"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["@timestamp"])
    assert second["@level"] == "warn" and second["@message"] == "sent **** and a \\x1b[31m name\\x0aacross lines"
    assert SECRET not in "\n".join(lines)


def test_a_provider_with_a_bad_level_starts_and_says_why() -> None:
    from sg_bitbucket_iac.logs import configure_provider

    assert "is not a log level" in str(configure_provider({LOG_ENV: "loud"}, style="plain"))
    assert configure_provider({}, style="plain") is None


def test_secrets_are_kept_only_while_a_log_is_written() -> None:
    from sg_bitbucket_iac import logs

    logs.remember_secret(SECRET)
    assert SECRET not in logs._seen  # no log, nothing to scrub: the engine's calls cost nothing
    configure({LOG_ENV: "info"})
    logs.remember_secret(SECRET)
    assert SECRET in logs._seen
    unconfigure()
    assert not logs._seen
