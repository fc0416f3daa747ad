variable "platform_access_token" {
  type      = string
  sensitive = true
}

# The scope is inferred from `project`.
resource "sgbitbucket_connector" "platform" {
  name         = "platform-project"
  workspace    = "acme"
  auth_type    = "access_token"
  project      = "PLAT"
  access_token = var.platform_access_token
}
