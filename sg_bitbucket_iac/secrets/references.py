"""`${env|file|aws-sm|aws-ssm:...}` secret references: where a credential is read from, never the value.

A definitions file, a Pulumi program or a Terraform variable may name a credential instead of holding
it. Resolving a reference gives a :class:`Secret` stripped of surrounding whitespace and refused if it
holds control characters; a failure names the reference and the fix, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import SecretReferenceError
from ..local_files import FileRefused, read_regular_file
from ..redact import control_characters
from .aws import resolve_secrets_manager, resolve_ssm
from .secret import Secret

REFERENCE_RE = re.compile(r"^\$\{(?P<kind>env|file|aws-sm|aws-ssm):(?P<target>[^}]+)\}$")
# A credential file is a few hundred bytes; anything much larger is the wrong file.
MAX_SECRET_FILE_BYTES = 64 * 1024
# Kernel and device trees: never a credential, often the process's own secrets (/proc/self/environ).
_SPECIAL_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class SecretReference:
    kind: str  # env | file | aws-sm | aws-ssm
    target: str

    @property
    def text(self) -> str:
        return "${" + f"{self.kind}:{self.target}" + "}"

    @classmethod
    def parse(cls, text: str) -> SecretReference | None:
        match = REFERENCE_RE.match(text.strip())
        if not match:
            return None
        return cls(match.group("kind"), match.group("target"))

    def resolve(
        self,
        base_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        allowed_dirs: Iterable[Path] = (),
    ) -> Secret:
        """The value, stripped of surrounding whitespace and refused if it holds control characters.

        ``environ`` stands in for os.environ (a command run in-process with its own env). A file
        reference is read relative to ``base_dir`` (the definitions file's folder, else the working
        directory) and only inside that tree or one of ``allowed_dirs``.
        """
        if self.kind == "env":
            value = (os.environ if environ is None else environ).get(self.target)
            if value is None:
                raise SecretReferenceError(f"{self.text}: environment variable {self.target} is not set")
            return self._checked(value, f"environment variable {self.target}")
        if self.kind == "file":
            return self._checked(_read_secret_file(self, base_dir, allowed_dirs), "the file")
        if self.kind == "aws-sm":
            return self._checked(resolve_secrets_manager(self, environ), f"secret {self.target.partition('#')[0]!r}")
        if self.kind == "aws-ssm":
            return self._checked(resolve_ssm(self, environ), f"parameter {self.target!r}")
        raise SecretReferenceError(f"{self.text}: unknown reference kind {self.kind!r}")

    def _checked(self, value: str, source: str) -> Secret:
        value = value.strip()
        if not value:
            raise SecretReferenceError(f"{self.text}: {source} is empty")
        bad = control_characters(value)
        if bad:
            raise SecretReferenceError(
                f"{self.text}: {source} holds control characters ({', '.join(bad)}), which no Bitbucket "
                "credential has; point the reference at the credential alone"
            )
        return Secret(value)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _read_secret_file(ref: SecretReference, base_dir: Path | None, allowed_dirs: Iterable[Path]) -> str:
    """A regular file inside the definitions' folder tree (or an allowed folder), read safely.

    Symlinks are resolved before the check, so a link cannot lead outside; the file is opened
    non-blocking and checked again on the open descriptor, so a FIFO or device swapped in is refused.
    """
    base = (base_dir or Path.cwd()).resolve()
    folders = [base, *(Path(os.path.expanduser(str(d))).resolve() for d in allowed_dirs)]
    requested = Path(os.path.expanduser(ref.target))
    path = (requested if requested.is_absolute() else base / requested).resolve()
    if any(_within(path, tree) for tree in _SPECIAL_TREES):
        raise SecretReferenceError(f"{ref.text}: {path} is a kernel or device file, not a credential file")
    if not any(_within(path, folder) for folder in folders):
        raise SecretReferenceError(
            f"{ref.text}: {path} is outside the definitions folder {base}; keep secret files next to the "
            "definitions, or pass --allow-secret-files-outside DIR for the folder that holds it"
        )
    try:
        data = read_regular_file(path, MAX_SECRET_FILE_BYTES)
    except FileRefused as refused:
        if refused.strerror:
            raise SecretReferenceError(f"{ref.text}: cannot read {path}: {refused.strerror}") from None
        if refused.too_large:
            size = f"{refused.size} bytes, more than" if refused.size is not None else "more than"
            raise SecretReferenceError(
                f"{ref.text}: {path} has {size} a credential file's {MAX_SECRET_FILE_BYTES} bytes; point it at "
                "the file that holds only the credential"
            ) from None
        raise SecretReferenceError(f"{ref.text}: {path} {refused.reason}; point it at a file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretReferenceError(f"{ref.text}: {path} is not UTF-8 text") from None
