"""scripts/check-import-cycles (run by .ci/run): it finds every loop that runs, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check-import-cycles"


def check(tmp_path: Path, modules: dict[str, str]) -> subprocess.CompletedProcess[str]:
    package = tmp_path / "loops_example"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([sys.executable, str(SCRIPT), "loops_example"], capture_output=True, text=True, env=env,
                          check=False)


def test_a_loop_through_an_import_inside_a_function_fails_and_is_named(tmp_path: Path) -> None:
    result = check(tmp_path, {
        "a": "from . import b\n",
        "b": "from . import c\n",
        "c": "def later() -> None:\n    from . import a  # runs, only later\n",
        "d": "from . import a\n",
    })
    assert result.returncode == 1, result.stdout + result.stderr
    assert "IMPORT LOOP: loops_example.a, loops_example.b, loops_example.c" in result.stdout
    assert "loops_example.c -> loops_example.a (line 2: from . import a" in result.stdout
    assert "loops_example.d" not in result.stdout  # it imports the loop, it is not part of it


def test_imports_for_type_hints_only_are_no_loop(tmp_path: Path) -> None:
    result = check(tmp_path, {
        "a": "from . import b\n",
        "b": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from . import a\n",
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no import loop at run time in loops_example" in result.stdout
