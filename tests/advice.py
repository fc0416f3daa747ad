"""Reading the commands a message recommends, so that a test can run them as a person would.

A message names a command between backticks (`sg-bitbucket apply -f FILE bitbucket_main`,
`terraform import <address> legacy`); a test takes it from the text the product printed, fills in
only what the person must fill in (the file they named FILE, the resource address they wrote), and
runs it. Nothing else is rewritten: if the advice is wrong, the command fails.
"""

from __future__ import annotations

import re
import shlex

_BACKTICKED = re.compile(r"`([^`]+)`")


def commands_in(text: str, tool: str) -> list[str]:
    """Every backticked command of ``tool`` (`sg-bitbucket`, `terraform`) in ``text``, in order."""
    return [snippet for snippet in _BACKTICKED.findall(text) if snippet.split(" ", 1)[0] == tool]


def the_command(text: str, tool: str, *, starting: str = "") -> str:
    """The one command of ``tool`` the text recommends (the first whose words start with ``starting``)."""
    found = [c for c in commands_in(text, tool) if c.startswith(f"{tool} {starting}".rstrip())]
    assert found, f"no `{tool} {starting}...` command in: {text}"
    return found[0]


def argv(command: str, **fill: str) -> list[str]:
    """The command's arguments after the tool name, with placeholders (FILE, <address>) filled in."""
    words = shlex.split(command)[1:]
    return [fill.get(word, word) for word in words]
