"""Where the CLI writes: stdout for reports, stderr for progress, prompts and notes; and JSON.

Apart from the views in ``render.py``, nothing here needs `rich` until a table, a styled line or a
progress bar is drawn, so a ``--json`` run (what automation uses) never imports it. Output is
scrubbed of every secret the run has seen as a last line of defence; progress bars go to stderr,
on a terminal, for more than a handful of items.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..redact import escape_control

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

PROGRESS_THRESHOLD = 5  # more items than this get a progress bar
_PLAIN_WIDTH = 200  # wide enough that messages are not wrapped mid-sentence in logs and files


class Output:
    """Where a command writes: stdout for reports, stderr for progress, prompts and notes."""

    def __init__(self, *, color: bool = True, scrub: Callable[[str], str] = lambda text: text) -> None:
        self.scrub = scrub
        self.stdout_tty = sys.stdout.isatty()
        self.stderr_tty = sys.stderr.isatty()
        self.color = color and "NO_COLOR" not in os.environ

    # ------------------------------------------------------------------ writing
    def _console(self, tty: bool) -> tuple[Console, io.StringIO]:
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=tty and self.color,
            no_color=not (tty and self.color),
            width=shutil.get_terminal_size((120, 24)).columns if tty else _PLAIN_WIDTH,
            highlight=False,
            emoji=False,
        )
        return console, buffer

    def render(self, *renderables: RenderableType, err: bool = False) -> None:
        from rich.text import Text

        tty = self.stderr_tty if err else self.stdout_tty
        console, buffer = self._console(tty)
        for renderable in renderables:
            # A sentence is never wrapped by us (the terminal or the log viewer does it); tables fit the width.
            console.print(renderable, soft_wrap=isinstance(renderable, Text))
        text = buffer.getvalue()
        if not tty:  # table cells are padded to the column width: no trailing blanks in files and logs
            text = "\n".join(line.rstrip() for line in text.split("\n"))
        self._write(text, err)

    def line(self, text: str = "", style: str | None = None, *, err: bool = False) -> None:
        from rich.text import Text

        self.render(Text(escape_control(text), style=style or ""), err=err)

    def err(self, text: str, end: str = "\n") -> None:
        self._write(escape_control(text) + end, True)

    def json(self, payload: Any) -> None:
        self._write(json.dumps(payload, indent=2, default=str) + "\n", False)

    def markdown(self, text: str) -> None:
        text = escape_control(text)
        self._write(text if text.endswith("\n") else text + "\n", False)

    def _write(self, text: str, err: bool) -> None:
        stream = sys.stderr if err else sys.stdout
        stream.write(self.scrub(text))
        stream.flush()

    # ------------------------------------------------------------------ progress
    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Callable[[], None]]:
        """``advance()`` per finished item; a bar on stderr only on a terminal and for > 5 items."""
        if total <= PROGRESS_THRESHOLD or not self.stderr_tty:
            yield lambda: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=sys.stderr, force_terminal=True, no_color=not self.color)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda: bar.advance(task)


def plan_summary(plans: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "no-op": 0}
    for plan in plans:
        counts[plan["action"]] = counts.get(plan["action"], 0) + 1
    return counts
