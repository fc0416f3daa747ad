"""Where a request really goes: one parse of a base URL decides it all, and one path join per request.

**One parse.** :func:`parse_base_url` decides where the connection goes (scheme, host, port), whether
the host is loopback, whether plain ``http`` is allowed (loopback only: the API key travels on every
request) and whether a proxy may carry it (never for loopback). It decides with urllib3's
``parse_url``, the parse the connection is made by, and refuses every URL that Python's
``urllib.parse`` reads differently: ``http://evil.example\\@127.0.0.1/`` is loopback to
``urllib.parse`` but urllib3 connects to ``evil.example``. It also refuses what makes a base URL
ambiguous or leaky: a backslash, userinfo (``user:pass@``), whitespace or control characters, a
query, a fragment, ``%`` escapes, non-ASCII characters, dot segments, and any scheme but http(s).

**One join.** :func:`join_path` puts percent-encoded segments under a base URL and an expected
prefix, then parses the result as urllib3 will and refuses it unless the path is exactly the one
built (urllib3 removes dot segments, which is how ``..`` once reached ``DELETE /api/v1/orgs/x/``)
with exactly the segments given under the prefix. Each client's URL builder is the only caller.

No message shows a URL's userinfo, query or fragment (:func:`shown_url`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .errors import ConfigurationError, IdentifierError, UnsafeValueError
from .redact import control_characters, escape_control

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a base URL's path may hold: unreserved characters (RFC 3986) in non-empty segments.
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_SHOWN_URL_CHARACTERS = 120
_HINT = "give the API's base URL alone, e.g. https://api.app.stackguardian.io or https://api.bitbucket.org/2.0"


def is_loopback(host: str | None) -> bool:
    """Whether a host (as urllib3 parsed it) is this machine: ``localhost``, ``*.localhost`` or a loopback IP.

    Spellings the resolver may also map to loopback (``127.1``, ``0x7f.1``, ``localhost.``) are not
    counted: calling them remote only ever refuses plain http or allows a proxy, never the reverse.
    """
    if not host:
        return False
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class BaseUrl:
    """A checked base URL: where the connection goes, and what that allows."""

    scheme: str  # "http" | "https"
    host: str  # as urllib3 connects to it (an IPv6 address in brackets)
    port: int | None  # None: the scheme's default
    path: str  # "" or "/2.0": no trailing slash

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def plain_http_allowed(self) -> bool:
        """Plain http carries the API key in clear: only to this machine (the emulator)."""
        return self.loopback

    @property
    def proxy_allowed(self) -> bool:
        """A proxy from the environment would see a loopback request's key in clear: never for loopback."""
        return not self.loopback

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port) with the default port made explicit: what a redirect must keep."""
        return self.scheme, self.host, self.port or DEFAULT_PORTS[self.scheme]

    @property
    def origin_url(self) -> str:
        return f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port is not None else "")

    def __str__(self) -> str:
        return self.origin_url + self.path


def shown_url(url: object) -> str:
    """A URL for a message: no userinfo, query or fragment; control characters escaped; a long one cut."""
    text = str(url)
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    scheme, separator, rest = text.partition("://")
    if not separator:  # no scheme (`user:pass@host`): the authority starts the text
        scheme, rest = "", text
    # Userinfo is whatever precedes the last '@' before the path, by any parser's reading of a backslash.
    authority_end = rest.find("/") if "/" in rest else len(rest)
    at = rest.rfind("@", 0, authority_end)
    if at >= 0:
        rest = "****@" + rest[at + 1:]
    text = f"{scheme}{separator}{rest}"
    text = escape_control(text, keep="")
    if len(text) > _SHOWN_URL_CHARACTERS:
        text = text[:_SHOWN_URL_CHARACTERS] + f"… ({len(str(url))} characters)"
    return text


def _refuse(setting: str, url: str, why: str, *, error: type[ConfigurationError] = ConfigurationError,
            hint: str = _HINT) -> ConfigurationError:
    return error(f"{setting}={shown_url(url)} is refused: {why}", hint=hint)


def _characters_problem(url: str) -> str | None:
    """What makes a URL's text ambiguous before any parse: the characters parsers disagree on."""
    if "\\" in url:
        return "it contains a backslash, which URL parsers read differently (one may connect elsewhere)"
    if any(ch.isspace() for ch in url):
        return "it contains whitespace"
    if not url.isascii():
        return "it contains non-ASCII characters (write the host in its ASCII form, e.g. xn--...)"
    if "@" in url:
        return "it carries userinfo (user:password@); the API key is the only credential, sent in a header"
    if "?" in url or "#" in url:
        return "it carries a query or a fragment; a base URL has neither"
    if "%" in url:
        return "it contains %-escapes, which URL parsers decode differently"
    return None


def parse_base_url(url: object, setting: str) -> BaseUrl:
    """The one parse of a base URL (see the module docstring); a ConfigurationError naming ``setting`` if refused.

    Surrounding whitespace and trailing slashes are dropped, as from a setting typed or read from a file.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"{setting} is {type(url).__name__}, not a URL", hint=_HINT)
    text = url.strip().rstrip("/")
    bad = control_characters(text)
    if bad:
        raise _refuse(setting, text, f"it contains control characters ({', '.join(bad)})", error=UnsafeValueError,
                      hint="set the URL again without line breaks or escape codes")
    problem = _characters_problem(text)
    if problem is not None:
        raise _refuse(setting, text, problem)
    try:
        connects = parse_url(text)
        reads = urlsplit(text)
        reads_port = reads.port
    except (LocationParseError, ValueError):
        raise _refuse(setting, text, "it is not a URL (its host or port cannot be parsed)") from None
    scheme = (connects.scheme or "").lower()
    if scheme not in SCHEMES or not connects.host:
        raise _refuse(setting, text, "it is not an http(s) URL with a host")
    host, path = connects.host.lower(), connects.path or ""
    segments = reads.path.split("/")[1:] if reads.path else []
    if any(not _PATH_SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise _refuse(setting, text, "its path has empty, '.' or '..' segments, or characters outside "
                      "letters, digits and '.-_~'")
    if connects.port == 0:
        raise _refuse(setting, text, "port 0 is no port to connect to")
    # The parse that connects must be the parse everyone else reads: same host, port and path.
    if ((reads.scheme.lower(), (reads.hostname or "").lower(), reads_port, reads.path)
            != (scheme, host.removeprefix("[").removesuffix("]"), connects.port, path)):
        raise _refuse(setting, text, "URL parsers read it differently (urllib3 would connect elsewhere)")
    base = BaseUrl(scheme, host, connects.port, path)
    if scheme == "http" and not base.plain_http_allowed:
        raise _refuse(setting, text, "it uses plain http:// to a non-loopback host; credentials would travel "
                      "unencrypted", hint="use https://, or http:// only for 127.0.0.1/localhost (the emulator)")
    return base


def connection_origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of any URL as urllib3 connects to it, default port explicit; None when
    urllib3 cannot parse it or ``urllib.parse`` reads another host (an ambiguous URL, never followed)."""
    try:
        connects = parse_url(url)
        reads = urlsplit(url)
        reads_host, reads_port = (reads.hostname or "").lower(), reads.port
    except (LocationParseError, ValueError):
        return None
    scheme = (connects.scheme or "").lower()
    host = (connects.host or "").lower()
    if "\\" in url or host.removeprefix("[").removesuffix("]") != reads_host or connects.port != reads_port:
        return None
    return scheme, host, connects.port or DEFAULT_PORTS.get(scheme)


def join_path(base: BaseUrl, prefix: Sequence[str], segments: Sequence[str], *, trailing_slash: bool,
              names: Sequence[str] = ()) -> str:
    """``base`` + ``prefix`` + ``segments``, each percent-encoded; verified by urllib3's own parse.

    The caller has checked each segment against its identifier rule; this proves the result: the
    path urllib3 will send is exactly the one built, under the prefix, with exactly these segments.
    ``names``: each segment's field path, for the error.
    """
    under = base.path + "/" + "".join(quote(part, safe="") + "/" for part in prefix)
    tail = "/".join(quote(part, safe="") for part in segments)
    path = under + tail + ("/" if trailing_slash and tail else "")
    url = base.origin_url + path
    sent = parse_url(url)
    sent_segments = (sent.path or "")[len(under):].removesuffix("/").split("/") if segments else []
    if (sent.path != path or not all(segments) or (sent.scheme, sent.host, sent.port) !=
            (base.scheme, base.host, base.port) or [unquote(s) for s in sent_segments] != list(segments)):
        field = names[0] if names else "path"
        raise IdentifierError(field, f"the request would leave {under}; refused before sending it")
    return url


__all__ = ["BaseUrl", "connection_origin", "is_loopback", "join_path", "parse_base_url", "shown_url"]
