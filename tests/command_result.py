"""What one run of a command gave (the CLI in-process or as a process, terraform, tofu): one type for every suite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class CommandResult:
    code: int
    stdout: str
    stderr: str
    args: tuple[str, ...] = ()

    @property
    def returncode(self) -> int:
        """The subprocess spelling, for the Terraform harness."""
        return self.code

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)
