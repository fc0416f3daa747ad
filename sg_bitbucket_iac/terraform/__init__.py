"""Terraform front: the `sgbitbucket` provider (tfplugin6, via the `tf` package) on the shared backend.

Nothing here is imported by the CLI or the Pulumi front; only the `terraform-provider-sgbitbucket`
console script (``sg_bitbucket_iac.terraform.main:main``) loads it, so `tf`/gRPC stay out of
`sg-bitbucket --help`. This package only maps attributes to the backend and back: every rule
(validation, the app-password timeline, preflight, full credential replacement) is the backend's.
"""

PROVIDER_NAME = "sgbitbucket"
PROVIDER_SOURCE = "registry.terraform.io/stackguardian/sgbitbucket"
