"""Console script `terraform-provider-sgbitbucket`: Terraform starts it and speaks tfplugin6 to it.

Terraform launches it itself (via `dev_overrides` or an installed mirror); run by hand it prints
the go-plugin handshake line and waits. `--dev` prints a TF_REATTACH_PROVIDERS line for debugging.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Said when the mirror's launcher (sg_bitbucket_iac/terraform/mirror.py) selected another version than ours.
VERSION_REMEDY = ("run `sg-bitbucket terraform-mirror DIR` with the installation you mean and then `terraform init "
                  "-upgrade` (OpenTofu: `tofu init -upgrade`), or install the version the lock file selects")


def _ensure_cert_cache_dir() -> None:
    """tf caches its TLS certificate in $HOME/.cache/tf-python-provider and does not survive a HOME
    it cannot write (read-only CI homes, HOME unset): the plugin would die before the handshake.
    Fall back to a private temporary HOME for this process; nothing else here reads HOME."""
    try:
        (Path.home() / ".cache" / "tf-python-provider").mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):
        os.environ["HOME"] = tempfile.mkdtemp(prefix="sgbitbucket-provider-")


def main(argv: list[str] | None = None) -> None:
    from .. import __version__
    from ..errors import MissingExtraError
    from ..extras import require_extra
    from ..launcher import version_mismatch

    # One line on stdout before the handshake: Terraform shows it ("Unrecognized remote plugin message").
    mismatch = version_mismatch(__version__, "terraform-provider-sgbitbucket", VERSION_REMEDY)
    if mismatch:
        print(mismatch, flush=True)
        raise SystemExit(1)
    try:
        require_extra("terraform")
    except MissingExtraError as error:
        print(f"terraform-provider-sgbitbucket: {error}", flush=True)
        raise SystemExit(1) from None
    import tf.provider
    from tf.runner import run_provider

    from .. import logs
    from .provider import SGBitbucketProvider
    from .servicer import SGBitbucketServicer

    # WORKAROUND (tf 1.2.0): run_provider builds `tf.provider.ProviderServicer` itself; ours also
    # plans creates through the resource (see servicer.py).
    tf.provider.ProviderServicer = SGBitbucketServicer
    _ensure_cert_cache_dir()
    # SG_BITBUCKET_IAC_LOG: hclog JSON lines on stderr, which Terraform's provider log shows (TF_LOG=debug).
    log_problem = logs.configure_provider(os.environ, style="hclog")
    provider = SGBitbucketProvider()
    if log_problem:
        provider.startup_warnings.append(log_problem)
    run_provider(provider, argv or sys.argv)


if __name__ == "__main__":  # pragma: no cover
    main()
