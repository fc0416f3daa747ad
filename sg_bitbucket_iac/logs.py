"""The opt-in log: ``SG_BITBUCKET_IAC_LOG=debug|info|warning`` writes this package's log to stderr.

What a person reads when a run is slow or odd (like ``TF_LOG``): each request's method, path and
status (debug), each preflight's verdict, the CLI's phases with their durations (info). Every line
is scrubbed of the secrets the run has seen (in every form :mod:`.redact` knows) and has its control
characters escaped, at the moment it is written, so a line can never carry a credential, whatever a
message was given.

The same setting works in every front, written where its engine shows a plugin's output:

* the CLI: plain lines on its stderr (``sg-bitbucket-iac DEBUG name: message``);
* the Terraform provider: one hclog JSON object per line on the plugin's stderr (``@level``,
  ``@message``, ``@module``, ``@timestamp``), which go-plugin reads into Terraform's provider log at
  that level: ``TF_LOG=debug`` (or ``TF_LOG_PROVIDER=debug``) shows them, ``TF_LOG_PATH`` keeps them;
* the Pulumi dynamic provider: plain lines on its stderr, which the Pulumi engine shows with the
  run's output (each line as a diagnostic of the provider; ``--logtostderr -v=9`` adds the engine's own);
* the native Pulumi provider: the same plain lines, handed to a ``sink`` that sends each to the engine's
  log service (the engine hides a resource plugin's stderr unless ``--debug``), shown under the resource.

Secrets: the CLI hands in the live set of what it has read; a provider process has no such list, so
the engine calls :func:`remember_secret` with every API key and credential it is given.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Literal

from .errors import ConfigurationError
from .redact import escape_control, scrub_text

LOG_ENV = "SG_BITBUCKET_IAC_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_HANDLER_NAME = "sg-bitbucket-iac"
# Below this length a "secret" is too short to scrub from a line without mangling ordinary words.
_MIN_SCRUB_LENGTH = 8
# hclog's level names (go-hclog LevelFromString), by Python level.
_HCLOG_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
                 logging.CRITICAL: "error"}

Style = Literal["plain", "hclog"]

_seen: set[str] = set()
_seen_lock = threading.Lock()
_active = False  # a handler is installed: only then is a secret worth keeping for the scrub


def remember_secret(value: str | None) -> None:
    """A secret this process holds (API key, credential): scrubbed from every log line from now on."""
    if _active and value and len(value) >= _MIN_SCRUB_LENGTH and value not in _seen:
        with _seen_lock:
            _seen.add(value)


class _Scrubbed(logging.Formatter):
    def __init__(self, secrets: Collection[str]) -> None:
        super().__init__("sg-bitbucket-iac %(levelname)s %(name)s: %(message)s")
        self._secrets = secrets

    def scrubbed(self, text: str) -> str:
        with _seen_lock:
            known = [*_seen, *self._secrets]
        return escape_control(scrub_text(text, known), keep="")

    def format(self, record: logging.LogRecord) -> str:
        return self.scrubbed(super().format(record))


class _HclogJson(_Scrubbed):
    """go-hclog's JSON line: what go-plugin parses from a plugin's stderr into the host's log, with its level."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        moment = datetime.fromtimestamp(record.created, UTC)
        return json.dumps({
            "@level": _HCLOG_LEVELS.get(record.levelno, "info"),
            "@message": self.scrubbed(message),
            "@module": record.name,
            # go-plugin parses exactly this layout ("2006-01-02T15:04:05.000000Z07:00").
            "@timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z",
        })


class _SinkHandler(logging.Handler):
    """Hands each formatted (scrubbed) line to a function instead of a stream."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__()
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sink(self.format(record))
        except Exception:  # a log line must never fail the work it describes
            self.handleError(record)


def configure(environ: Mapping[str, str], secrets: Collection[str] = (), *, style: Style = "plain",
              sink: Callable[[str], None] | None = None) -> None:
    """Log to stderr at the level ``SG_BITBUCKET_IAC_LOG`` names; nothing when it is unset.

    ``secrets`` is read at each line, so a live collection (the CLI's secrets seen so far) also
    scrubs the secrets a run learns after this call. ``style``: ``hclog`` for the Terraform plugin.
    ``sink``: where each line goes instead of stderr (the native Pulumi provider's engine log).
    """
    wanted = environ.get(LOG_ENV, "").strip().lower()
    unconfigure()
    if not wanted:
        return
    if wanted not in LEVELS:
        raise ConfigurationError(f"{LOG_ENV}={environ.get(LOG_ENV)!r} is not a log level",
                                 hint=f"use one of {', '.join(LEVELS)}")
    handler: logging.Handler = _SinkHandler(sink) if sink is not None else logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_HclogJson(secrets) if style == "hclog" else _Scrubbed(secrets))
    package = logging.getLogger("sg_bitbucket_iac")
    package.addHandler(handler)
    package.setLevel(LEVELS[wanted])
    global _active
    _active = True


def configure_provider(environ: Mapping[str, str], *, style: Style,
                       sink: Callable[[str], None] | None = None) -> str | None:
    """:func:`configure` for a provider process: a bad level is said, not raised (the plugin must start).

    Returns the problem's text, for the front to show as a warning; None when all is well.
    """
    try:
        configure(environ, style=style, sink=sink)
    except ConfigurationError as error:
        return str(error)
    return None


def unconfigure() -> None:
    """Remove what :func:`configure` set up (a run is over: in-process callers keep their own logging)."""
    global _active
    _active = False
    with _seen_lock:
        _seen.clear()
    package = logging.getLogger("sg_bitbucket_iac")
    for handler in [h for h in package.handlers if h.get_name() == _HANDLER_NAME]:
        package.removeHandler(handler)
        package.setLevel(logging.NOTSET)
