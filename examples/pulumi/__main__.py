"""StackGuardian Bitbucket connectors declared with Pulumi: one per auth type.

Run from the repository root (the top-level Pulumi.yaml points here) with the project venv
activated (`source .venv/bin/activate`, or PULUMI_PYTHON_CMD=$PWD/.venv/bin/python): the dynamic
provider process imports sg_bitbucket_iac from that Python. Provider settings come from the
`stackguardian:*` stack config (see Pulumi.dev.yaml); credentials are secret stack config:

    pulumi config set --secret stackguardian:apiKey
    pulumi config set --secret bbApiToken
    pulumi config set --secret bbAccessToken
    pulumi config set --secret bbAppPassword   # optional, legacy: refused from 2026-06-09
"""

import pulumi

from sg_bitbucket_iac.pulumi import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector

cfg = pulumi.Config()
workspace = cfg.get("workspace") or "acme"
username = cfg.require("bbUsername")

# Recommended: an Atlassian API token with Bitbucket read scopes (username for git, email for REST).
main = BitbucketConnector(
    "main",
    name="bitbucket-main",
    workspace=workspace,
    description="Main workspace",
    tags=["platform"],
    auth=ApiTokenAuth(username=username, email=cfg.require("bbEmail"), api_token=cfg.require_secret("bbApiToken")),
)

# A repository access token: no user identity, reaches one repository only.
infra = BitbucketConnector(
    "infra-repo",
    name="infra-repo",
    workspace=workspace,
    auth=AccessTokenAuth(
        access_token=cfg.require_secret("bbAccessToken"),
        scope="repository",
        repository=cfg.get("repository") or "infra",
    ),
)

pulumi.export("main_connector_id", main.connector_id)
pulumi.export("main_authenticated", main.authenticated)
pulumi.export("infra_connector_id", infra.connector_id)

# Legacy app password, only while one is configured: StackGuardian refuses them from 2026-06-09
# (`sg-bitbucket migrate --connector <ID> --to api_token ...`, or switch `auth` above to
# ApiTokenAuth: an auth-type change updates the same connector in place).
app_password = cfg.get_secret("bbAppPassword")
if app_password is not None:
    legacy = BitbucketConnector(
        "legacy",
        name="bitbucket-legacy",
        workspace=workspace,
        auth=AppPasswordAuth(username=username, app_password=app_password),
    )
    pulumi.export("legacy_connector_id", legacy.connector_id)
