# StackGuardian Bitbucket connectors as Terraform resources (provider: sgbitbucket).
#
# Run it against the local emulator or a real org. Install the provider with `terraform init`
# from the mirror `sg-bitbucket terraform-mirror DIR` writes (CLI config: terraform.rc.example);
# see README.md ("Terraform").

terraform {
  required_providers {
    sgbitbucket = {
      source = "stackguardian/sgbitbucket" # registry.terraform.io/stackguardian/sgbitbucket
    }
  }
}

# Every argument is optional: null falls back to the environment
# (STACKGUARDIAN_API_KEY / SG_API_TOKEN, STACKGUARDIAN_API_URI / SG_BASE_URL,
#  STACKGUARDIAN_ORG_NAME / SG_ORG, BITBUCKET_API_URL).
provider "sgbitbucket" {
  api_key           = var.sg_api_key
  org_name          = var.sg_org
  api_uri           = var.sg_api_uri
  bitbucket_api_url = var.bitbucket_api_url
  # preflight = false   # skip the credential check against Bitbucket (default: on)
}

# Recommended: an Atlassian API token with Bitbucket read scopes.
resource "sgbitbucket_connector" "main" {
  name        = "bitbucket-main"
  description = "Main Bitbucket workspace"
  tags        = ["platform"]
  workspace   = var.workspace

  auth_type = "api_token"
  username  = var.bitbucket_username # Bitbucket username (git)
  email     = var.atlassian_email    # Atlassian account email (REST)
  api_token = var.bitbucket_api_token
}

# A repository access token (scope inferred from `repository`; or set
# access_token_scope = "project" with `project`, or "workspace").
# Switching a connector from api_token to access_token is an in-place update:
# change auth_type, drop username/email/api_token, set these. The Id stays.
resource "sgbitbucket_connector" "infra" {
  name       = "infra-repo"
  workspace  = var.workspace
  auth_type  = "access_token"
  repository = var.infra_repository

  access_token = var.bitbucket_infra_access_token
}

# One connector per team: names, descriptions and tags built from each.key and from another
# resource's attributes (values unknown until apply are fine; their checks wait for them).
resource "sgbitbucket_connector" "team" {
  for_each = var.team_repositories

  name        = "bitbucket-${each.key}"
  description = "Repository ${each.value}; workspace connector ${sgbitbucket_connector.main.id}"
  tags        = ["team-${each.key}"]
  workspace   = var.workspace

  auth_type    = "access_token"
  repository   = each.value
  access_token = var.team_access_tokens[each.key]
}

# Look up a connector (here: the one above) without holding any secret.
data "sgbitbucket_connector" "main" {
  connector_id = sgbitbucket_connector.main.id
}

output "main_connector_id" {
  value = sgbitbucket_connector.main.id
}

output "main_authenticated" {
  value = sgbitbucket_connector.main.authenticated
}

output "main_auth_type_seen_by_stackguardian" {
  value = data.sgbitbucket_connector.main.auth_type
}

output "infra_access_token_scope" {
  value = sgbitbucket_connector.infra.access_token_scope
}
