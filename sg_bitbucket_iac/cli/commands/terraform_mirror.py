"""`sg-bitbucket terraform-mirror DIR`: install this provider the way Terraform users install providers.

Writes the unpacked filesystem mirror (see sg_bitbucket_iac/terraform/mirror.py) and prints the
CLI configuration that points `terraform init` / `tofu init` at it. Talks to no API.
"""

from __future__ import annotations

from ..exit_codes import EXIT_OK
from .common import Context


def run(ctx: Context) -> int:
    from ...terraform.mirror import PROVIDER_SOURCES, write_mirror

    mirror = write_mirror(ctx.args.directory)
    if ctx.json:
        ctx.out.json({
            "mirror": str(mirror.path), "version": mirror.version, "platform": mirror.target,
            "providers": list(PROVIDER_SOURCES), "executables": [str(p) for p in mirror.executables],
            "cli_config": mirror.cli_config(),
        })
        return EXIT_OK
    ctx.out.line(f"Wrote the sgbitbucket provider {mirror.version} ({mirror.target}) to {mirror.path}", "bold")
    ctx.out.line("for " + " and ".join(PROVIDER_SOURCES) + ".")
    ctx.out.line("Put this in your Terraform/OpenTofu CLI configuration (~/.terraformrc, ~/.tofurc, or the file "
                 "TF_CLI_CONFIG_FILE / TOFU_CLI_CONFIG_FILE names), then run `terraform init` (or `tofu init`):")
    ctx.out.markdown(mirror.cli_config())
    return EXIT_OK
