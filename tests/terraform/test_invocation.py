"""Which engine command started the provider: a destroy is told from a plan by the engine's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sg_bitbucket_iac.terraform.invocation import Invocation, parent_command_line, parse


@pytest.mark.parametrize(("argv", "environ", "expected"), [
    (["terraform", "destroy", "-auto-approve"], {}, Invocation("destroy", True, "terraform")),
    (["/usr/bin/tofu", "-chdir=infra", "destroy"], {}, Invocation("destroy", True, "tofu")),
    (["terraform", "apply", "-destroy"], {}, Invocation("apply", True, "terraform")),
    (["terraform", "plan", "--destroy=true", "-out=x"], {}, Invocation("plan", True, "terraform")),
    # the last one wins
    (["terraform", "plan", "-destroy", "-destroy=false"], {}, Invocation("plan", False, "terraform")),
    (["terraform", "plan"], {"TF_CLI_ARGS_plan": "-destroy -no-color"}, Invocation("plan", True, "terraform")),
    (["terraform", "apply"], {"TF_CLI_ARGS": "-destroy"}, Invocation("apply", True, "terraform")),
    # another command's
    (["terraform", "apply"], {"TF_CLI_ARGS_plan": "-destroy"}, Invocation("apply", False, "terraform")),
    (["terraform", "apply", "-auto-approve"], {}, Invocation("apply", False, "terraform")),
    (["terraform", "plan", "-var", "mode=destroy"], {}, Invocation("plan", False, "terraform")),
    (["terraform", "import", "sgbitbucket_connector.main", "destroy"], {}, Invocation("import", False, "terraform")),
    (["terraform", "plan"], {"TF_CLI_ARGS": "'unbalanced"}, Invocation("plan", False, "terraform")),
    (["terraform"], {}, Invocation(None, False, "terraform")),
    (["/opt/engines/terraform-1.0.3", "plan"], {}, Invocation("plan", False, "terraform")),
    (["/usr/local/bin/tofu", "plan"], {}, Invocation("plan", False, "tofu")),
    (["/usr/bin/python3", "plan"], {}, Invocation("plan", False, None)),
])
def test_a_destroy_is_read_from_the_command_line(argv: list[str], environ: dict[str, str],
                                                 expected: Invocation) -> None:
    assert parse(argv, environ) == expected


def test_the_parents_command_line_is_read() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import json; from sg_bitbucket_iac.terraform.invocation import parent_command_line;"
         "print(json.dumps(parent_command_line()))"], capture_output=True, text=True, check=True)
    seen = json.loads(child.stdout)
    assert seen == parent_command_line(os.getpid())  # the child sees this process's command line
    if sys.platform.startswith("linux"):
        own = Path("/proc/self/cmdline").read_bytes().split(b"\0")
        assert seen == [part.decode() for part in own if part]
    assert parent_command_line(1) is None  # init, or nothing: never the engine
    assert parent_command_line(2**22 + 12345) is None  # no such process
