"""The opt-in log: ``SG_BITBUCKET_IAC_LOG=debug|info|warning`` writes this package's log to stderr.

What a person reads when a run is slow or odd (like ``TF_LOG``): each request's method, path and
status (debug), each preflight's verdict, the CLI's phases with their durations (info). Every line
is scrubbed of the secrets the run has seen (in every form :mod:`.redact` knows) and has its control
characters escaped, at the moment it is written, so a line can never carry a credential, whatever a
message was given.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Mapping

from .errors import ConfigurationError
from .redact import escape_control, scrub_text

LOG_ENV = "SG_BITBUCKET_IAC_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_HANDLER_NAME = "sg-bitbucket-iac"


class _Scrubbed(logging.Formatter):
    def __init__(self, secrets: Collection[str]) -> None:
        super().__init__("sg-bitbucket-iac %(levelname)s %(name)s: %(message)s")
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return escape_control(scrub_text(super().format(record), self._secrets), keep="")


def configure(environ: Mapping[str, str], secrets: Collection[str] = ()) -> None:
    """Log to stderr at the level ``SG_BITBUCKET_IAC_LOG`` names; nothing when it is unset.

    ``secrets`` is read at each line, so a live collection (the CLI's secrets seen so far) also
    scrubs the secrets a run learns after this call.
    """
    wanted = environ.get(LOG_ENV, "").strip().lower()
    unconfigure()
    if not wanted:
        return
    if wanted not in LEVELS:
        raise ConfigurationError(f"{LOG_ENV}={environ.get(LOG_ENV)!r} is not a log level",
                                 hint=f"use one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_Scrubbed(secrets))
    package = logging.getLogger("sg_bitbucket_iac")
    package.addHandler(handler)
    package.setLevel(LEVELS[wanted])


def unconfigure() -> None:
    """Remove what :func:`configure` set up (a run is over: in-process callers keep their own logging)."""
    package = logging.getLogger("sg_bitbucket_iac")
    for handler in [h for h in package.handlers if h.get_name() == _HANDLER_NAME]:
        package.removeHandler(handler)
        package.setLevel(logging.NOTSET)

