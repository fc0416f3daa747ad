variable "workspace_access_token" {
  type      = string
  sensitive = true
}

resource "sgbitbucket_connector" "workspace" {
  name               = "acme-workspace"
  workspace          = "acme"
  auth_type          = "access_token"
  access_token_scope = "workspace"
  access_token       = var.workspace_access_token
}
