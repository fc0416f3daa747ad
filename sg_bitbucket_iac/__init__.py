"""sg-bitbucket-iac: StackGuardian Bitbucket VCS connectors as code.

One backend (model, StackGuardian client, Bitbucket preflight, plan/apply/read engine) under three
thin fronts: a Pulumi dynamic resource, a Terraform provider and the `sg-bitbucket` CLI.
Heavy dependencies (pulumi, tf, boto3, grpc) are imported only by the fronts that need them.
"""

__version__ = "0.1.0"
