variable "infra_access_token" {
  type      = string
  sensitive = true
}

# The scope is inferred from `repository`.
resource "sgbitbucket_connector" "infra" {
  name         = "infra-repo"
  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = var.infra_access_token
}
