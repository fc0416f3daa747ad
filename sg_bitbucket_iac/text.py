"""Text that is safe to show a person: control characters escaped, never interpreted by a terminal.

Names, descriptions and error texts can come from outside this tool (set in the StackGuardian UI,
echoed by a server) and carry terminal escape sequences or bidi overrides; shown as ``\\x1b[31m``
and ``\\u202e`` they are visible and harmless.
"""

from __future__ import annotations

import unicodedata


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
