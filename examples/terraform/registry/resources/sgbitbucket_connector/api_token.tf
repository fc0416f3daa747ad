variable "bitbucket_api_token" {
  type      = string
  sensitive = true # pass it as TF_VAR_bitbucket_api_token
}

resource "sgbitbucket_connector" "main" {
  name        = "bitbucket-main"
  description = "Main Bitbucket workspace"
  tags        = ["platform"]
  workspace   = "acme"

  auth_type = "api_token"
  username  = "alice"         # Bitbucket username (git)
  email     = "alice@acme.io" # Atlassian account email (REST API)
  api_token = var.bitbucket_api_token
}
