"""`sg-bitbucket pulumi-plugin DIR`: the native Pulumi provider as a plugin tarball for `pulumi plugin install`.

Writes `pulumi-resource-sgbitbucket-vVERSION.tar.gz` (see sg_bitbucket_iac/pulumi/native/plugin_archive.py:
the same bytes on every machine for one version) and prints the command that installs it. Talks to no API.
"""

from __future__ import annotations

from ..exit_codes import EXIT_OK
from .common import Context


def run(ctx: Context) -> int:
    from ... import __version__
    from ...pulumi.native.plugin_archive import install_command, write_archive

    path = write_archive(ctx.args.directory)
    command = install_command(path)
    if ctx.json:
        ctx.out.json({"tarball": str(path), "version": __version__, "install": command})
        return EXIT_OK
    ctx.out.line(f"Wrote the sgbitbucket Pulumi provider {__version__} to {path}", "bold")
    ctx.out.line("Install it into Pulumi's plugin cache (then PULUMI_IGNORE_AMBIENT_PLUGINS=true uses only it):")
    ctx.out.markdown(command)
    return EXIT_OK
