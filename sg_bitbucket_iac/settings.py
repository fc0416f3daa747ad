"""Settings from explicit configuration, else the environment (names fixed by the README's Configuration)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError, UnsafeValueError
from .identifiers import Identifier
from .redact import control_characters
from .secrets import Secret
from .urls import parse_base_url

DEFAULT_API_URL = "https://api.app.stackguardian.io"
DEFAULT_BITBUCKET_API_URL = "https://api.bitbucket.org/2.0"

ENV_API_KEY = ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY")
ENV_API_URL = ("SG_BASE_URL", "STACKGUARDIAN_API_URI")
ENV_ORG = ("SG_ORG", "STACKGUARDIAN_ORG_NAME")
ENV_BITBUCKET_API_URL = ("BITBUCKET_API_URL",)
ENV_PREFLIGHT = ("SG_BITBUCKET_IAC_PREFLIGHT",)
ENV_TIMEOUT = ("SG_BITBUCKET_IAC_TIMEOUT",)
MAX_TIMEOUT_SECONDS = 600.0


def _present(value: str | Secret | None) -> bool:
    """Given, and more than whitespace (a blank setting counts as not given, as an unset one)."""
    if value is None:
        return False
    return bool((value.reveal() if isinstance(value, Secret) else value).strip())


def _first_env_named(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, str | None]:
    for name in names:
        value = environ.get(name)
        if _present(value):
            return name, value
    return names[0], None


def checked_api_key(value: str | Secret, setting: str) -> Secret:
    """The API key as a Secret, without the surrounding whitespace a file or a CI store adds.

    A key with a control character inside would end in the HTTP library's "Invalid header value
    b'apikey ...'" (which quotes the key); refuse it here with a text that shows no part of it.
    """
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    stripped = raw.strip()
    bad = control_characters(stripped)
    if bad:
        raise UnsafeValueError(
            f"{setting} contains control characters ({', '.join(bad)}); a StackGuardian API key has none",
            hint="copy the key again (e.g. `printf %s KEY`, not `echo`), without line breaks or escape codes",
        )
    if not stripped:
        raise ConfigurationError(f"{setting} is empty", hint="set the StackGuardian API key")
    return value if isinstance(value, Secret) and stripped == raw else Secret(stripped)


def checked_text(value: str | None, setting: str) -> str | None:
    """A plain setting without surrounding whitespace; control characters refused."""
    if value is None:
        return None
    stripped = str(value).strip()
    bad = control_characters(stripped)
    if bad:
        raise UnsafeValueError(f"{setting} contains control characters ({', '.join(bad)})",
                               hint="set it again without line breaks or escape codes")
    return stripped or None


def checked_org(value: str | None, setting: str) -> str | None:
    """The org name without surrounding whitespace, checked by its identifier rule: it is a URL path segment."""
    org = checked_text(value, setting)
    if org is None:
        return None
    message = Identifier.ORG.message(org)
    if message is not None:
        raise ConfigurationError(f"{setting}: {message}")
    return org


def checked_base_url(url: object, setting: str) -> str:
    """A base URL without trailing slash, as the one parse (:func:`~sg_bitbucket_iac.urls.parse_base_url`) read it."""
    return str(parse_base_url(url, setting))


def parse_timeout(value: str | float | None, setting: str) -> float | None:
    """Seconds to wait for an answer (None: each client's default), or a ConfigurationError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{setting}={value!r} is not a number of seconds",
                                 hint="e.g. 30 (how long to wait for StackGuardian or Bitbucket to answer)") from None
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:  # also refuses nan and inf
        raise ConfigurationError(f"{setting}={value!r} is out of range",
                                 hint=f"give a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}")
    return seconds


def parse_bool(value: str | bool | None, setting: str, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{setting}={value!r} is not a boolean", hint="use true or false")


# Each setting's environment variables, by the Settings field they set.
ENV_OF_SETTING: Mapping[str, tuple[str, ...]] = {
    "api_key": ENV_API_KEY,
    "api_url": ENV_API_URL,
    "org": ENV_ORG,
    "bitbucket_api_url": ENV_BITBUCKET_API_URL,
    "preflight": ENV_PREFLIGHT,
    "request_timeout": ENV_TIMEOUT,
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings. `api_key` is wrapped; `org` may be None until a command needs it."""

    api_key: Secret | None = None
    api_url: str = DEFAULT_API_URL
    org: str | None = None
    bitbucket_api_url: str = DEFAULT_BITBUCKET_API_URL
    preflight: bool = True
    clock: str | None = field(default=None)
    # Seconds to wait for an answer from StackGuardian or Bitbucket (None: 30 s and 10 s).
    request_timeout: float | None = None
    # Where each value came from, as a person would look for it: the front's name for an explicit value
    # (`--api-url`, Terraform's `api_uri`, `stackguardian:apiUrl`), else the environment variable read.
    # A hint about a bad key or URL names it (errors.SETTING_SOURCES when absent).
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def source_of(self, setting: str) -> str:
        """Where ``setting``'s value came from; for a default, the environment variables that would set it."""
        return self.sources.get(setting) or " or ".join(ENV_OF_SETTING.get(setting, (setting,)))

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | Secret | None = None,
        api_url: str | None = None,
        org: str | None = None,
        bitbucket_api_url: str | None = None,
        preflight: bool | str | None = None,
        clock: str | None = None,
        request_timeout: str | float | None = None,
        environ: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Settings:
        """Explicit values first, else the environment. ``names``: how the calling front names each
        explicit value (`--api-url`, `api_uri`, `stackguardian:apiUrl`), for the messages that point at it."""
        env = os.environ if environ is None else environ
        sources: dict[str, str] = {}

        def pick(setting: str, explicit: Any, given: bool) -> Any:
            """The explicit value when ``given``, else the first environment variable set; notes the source."""
            if given:
                sources[setting] = (names or {}).get(setting, setting)
                return explicit
            found, value = _first_env_named(ENV_OF_SETTING[setting], env)
            if value is not None:
                sources[setting] = found
            return value

        # A blank key or org is an unset one; an explicit `preflight` or timeout is read even when blank
        # (a typo must not turn the credential check off silently).
        key: str | Secret | None = pick("api_key", api_key, _present(api_key))
        url = pick("api_url", api_url, bool(api_url))
        bitbucket_url = pick("bitbucket_api_url", bitbucket_api_url, bool(bitbucket_api_url))
        org_name = pick("org", org, _present(org))
        preflight_value = pick("preflight", preflight, preflight is not None)
        timeout = pick("request_timeout", request_timeout, request_timeout is not None)
        return cls(
            api_key=checked_api_key(key, sources["api_key"]) if key is not None else None,
            api_url=checked_base_url(url, sources["api_url"]) if url is not None else DEFAULT_API_URL,
            org=checked_org(org_name, sources.get("org", "org")),
            bitbucket_api_url=checked_base_url(bitbucket_url, sources["bitbucket_api_url"])
            if bitbucket_url is not None else DEFAULT_BITBUCKET_API_URL,
            preflight=parse_bool(preflight_value, sources.get("preflight", "preflight"), True),
            clock=clock or env.get("SG_BITBUCKET_IAC_NOW") or None,
            request_timeout=parse_timeout(timeout, sources.get("request_timeout", "timeout")),
            sources=sources,
        )

    def require_api_key(self) -> Secret:
        if not self.api_key:
            raise ConfigurationError(
                "no StackGuardian API key",
                hint="set SG_API_TOKEN (or STACKGUARDIAN_API_KEY), or pass it explicitly "
                "(Pulumi: stackguardian:apiKey --secret; Terraform: api_key)",
            )
        return self.api_key

    def require_org(self) -> str:
        if not self.org:
            raise ConfigurationError(
                "no StackGuardian org",
                hint="set SG_ORG (or STACKGUARDIAN_ORG_NAME), or pass --org / stackguardian:org / org_name",
            )
        return self.org
