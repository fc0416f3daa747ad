"""The `sg-bitbucket` command line (entry point: :func:`sg_bitbucket_iac.cli.main.main`)."""
