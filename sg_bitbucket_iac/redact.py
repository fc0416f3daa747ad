"""What may be shown to a person: secrets masked in every form they take, control characters escaped.

Two rules for every text that leaves this tool (error, log line, plan, diagnostic):

* **No secret, in any encoding.** A credential reaches a server raw, as the secret half of
  ``user:secret``, base64-encoded in a Basic header, and comes back in error texts repr- or
  JSON-escaped or URL-encoded; :func:`scrub_text` removes each of these forms, and :func:`mask`
  is the at-most ``****abcd`` form a person may see.
* **No raw control character.** Names, descriptions and server texts can come from outside this
  tool (set in the StackGuardian UI, echoed by a server) and carry terminal escape sequences or
  bidi overrides; :func:`escape_control` shows them as ``\\x1b[31m`` and ``\\u202e``, visible and
  harmless, and :func:`control_characters` names them in a value that must hold none.
* **No wall of text.** A value quoted back (a 5 MB email typed into the wrong field) is shown by
  :func:`shorten`: its start and its length, never all of it.

This module imports nothing from the package, so anything (the error classes included) can use it
without an import loop.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "****"
# Show the last four characters only when the secret is long enough that four characters
# reveal a negligible fraction of it (Bitbucket tokens are 30+ characters).
_MIN_LEN_FOR_HINT = 16
# Base64 (a Basic header) is found by decoding base64-looking words: the base64 of `email:token`
# does not contain the base64 of `token`.
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
# A `user:secret` half shorter than this is too common a word to scrub without mangling the text.
_MIN_HALF = 4


def mask(value: str) -> str:
    """The at-most `****abcd` form of a secret for humans."""
    if len(value) >= _MIN_LEN_FOR_HINT:
        return MASK + value[-4:]
    return MASK


def secret_forms(value: str) -> set[str]:
    """The encodings of one secret that a text (error body, log line, repr) may carry."""
    forms: set[str] = set()
    candidates = {value, value.strip()}
    if ":" in value:
        tail = value.partition(":")[2]
        if len(tail) >= _MIN_HALF:
            candidates.add(tail)
    for candidate in candidates:
        if not candidate:
            continue
        forms.update({
            candidate,
            repr(candidate)[1:-1],
            str(candidate.encode("utf-8"))[2:-1],  # bytes repr: b'apikey KEY\n'
            json.dumps(candidate)[1:-1],
            candidate.encode("unicode_escape").decode("ascii"),
            quote(candidate, safe=""),
            quote(candidate, safe="").lower(),
            quote_plus(candidate),
        })
    return {form for form in forms if form}


def scrub_text(text: str, secrets: Iterable[str], replacement: str = MASK) -> str:
    """``text`` without any form of any of ``secrets`` (see :func:`secret_forms`), base64 included."""
    values = [s for s in dict.fromkeys(secrets) if s]
    if not values or not text:
        return text
    forms = sorted({form for value in values for form in secret_forms(value)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, replacement)
    raw = [v.encode("utf-8") for value in values for v in {value, value.strip()} if v]

    def masked_if_encoding_a_secret(match: re.Match[str]) -> str:
        word = match.group(0)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(word + "=" * (-len(word) % 4))
            except (ValueError, TypeError):
                continue
            if any(secret in decoded for secret in raw):
                return replacement
        return word

    return _BASE64_WORD.sub(masked_if_encoding_a_secret, text)


def escape_control(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every control or format character (``Cc``, ``Cf``) as a visible escape.

    Characters in ``keep`` (by default line breaks and tabs, for texts meant to span lines) stay.
    """
    if text.isprintable() and all(unicodedata.category(ch) != "Cf" for ch in text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in keep or (ch.isprintable() and unicodedata.category(ch) != "Cf"):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


# A quoted value longer than this is shown as its start and its length (an Id we suggest, 99 at most, fits).
MAX_SHOWN_VALUE = 120
_SHOWN_START = 40


def shorten(value: object, *, limit: int = MAX_SHOWN_VALUE, quoted: bool = True) -> str:
    """``value`` for a message: quoted (repr: control characters escaped), or bare with control characters
    escaped; a long one as its start and its length; anything but a string by its type alone."""
    if not isinstance(value, str):
        return type(value).__name__
    cut = len(value) > limit
    start = value[:_SHOWN_START] if cut else value
    text = repr(start) if quoted else escape_control(start, keep="")
    return f"{text}… ({len(value)} characters)" if cut else text


def control_characters(value: str) -> list[str]:
    """Names of the control characters in ``value`` (never the value): `U+0000`, `U+001B`, ..."""
    if value.isprintable():  # C-speed: no control (Cc) or format (Cf) character at all
        return []
    found = {ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"}
    found |= {ch for ch in value if ch in "\t\n\r"}
    return sorted(f"U+{ord(ch):04X}" for ch in found)


__all__ = ["MASK", "control_characters", "escape_control", "mask", "scrub_text", "secret_forms", "shorten"]
