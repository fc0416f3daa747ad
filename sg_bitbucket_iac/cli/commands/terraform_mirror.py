"""`sg-bitbucket terraform-mirror DIR`: install this provider the way Terraform users install providers.

Writes the unpacked filesystem mirror (see sg_bitbucket_iac/terraform/mirror.py), prints the CLI
configuration that points `terraform init` / `tofu init` at it, and says whether Terraform started
from this shell will find this installation's console script. Talks to no API.
"""

from __future__ import annotations

from pathlib import Path

from ..exit_codes import EXIT_OK
from .common import Context

CONFIG_PLACES = ("~/.terraformrc (Terraform), ~/.tofurc (OpenTofu; it also reads ~/.terraformrc), or the file "
                 "named by TF_CLI_CONFIG_FILE (read by both)")


def run(ctx: Context) -> int:
    from ...terraform.mirror import (
        OVERRIDE_ENV,
        PROVIDER_SOURCES,
        installed_console_script,
        launcher_would_run,
        write_mirror,
    )

    mirror = write_mirror(ctx.args.directory, allow_writable_by_others=ctx.args.allow_writable_by_others)
    ours = installed_console_script()
    found = launcher_would_run()
    finds_ours = found is not None and Path(found).resolve() == ours.resolve()
    hint = None
    if not finds_ours:
        hint = (f"Terraform started from this shell would not run this installation ({ours}): "
                + ("it finds nothing; " if found is None else f"it finds {found}; ")
                + f"put {ours.parent} on PATH (activate the venv) or set {OVERRIDE_ENV}={ours}.")
    if ctx.json:
        ctx.out.json({
            "mirror": str(mirror.path), "version": mirror.version, "platform": mirror.target,
            "providers": list(PROVIDER_SOURCES), "executables": [str(p) for p in mirror.executables],
            "cli_config": mirror.cli_config(), "console_script": str(ours), "launcher_finds": found,
            "warnings": [hint] if hint else [],
        })
        return EXIT_OK
    ctx.out.line(f"Wrote the sgbitbucket provider {mirror.version} ({mirror.target}) to {mirror.path}", "bold")
    ctx.out.line("for " + " and ".join(PROVIDER_SOURCES) + ".")
    ctx.out.line(f"Put this in your CLI configuration, {CONFIG_PLACES}, then run `terraform init` (or `tofu init`):")
    ctx.out.markdown(mirror.cli_config())
    ctx.out.line(f"The mirror's executable runs {ours.name} from {OVERRIDE_ENV} if set, else from PATH; it is the "
                 "same file on every machine, so a committed .terraform.lock.hcl verifies everywhere.")
    if hint:
        ctx.out.line("Warning: " + hint, "yellow", err=True)
    return EXIT_OK
