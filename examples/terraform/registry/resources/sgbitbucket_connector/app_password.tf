variable "bitbucket_app_password" {
  type      = string
  sensitive = true
}

# Only until StackGuardian's cut-off: switch it to api_token or access_token in place
# (change auth_type and the credential attributes; the connector keeps its Id).
resource "sgbitbucket_connector" "legacy" {
  name         = "legacy-pipelines"
  workspace    = "acme"
  auth_type    = "app_password"
  username     = "alice"
  app_password = var.bitbucket_app_password
}
