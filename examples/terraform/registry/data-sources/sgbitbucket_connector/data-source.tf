# By Id, or by name (`name = "bitbucket-main"`); no secret is read.
data "sgbitbucket_connector" "main" {
  connector_id = "bitbucket_main"
}

output "main_auth_type" {
  value = data.sgbitbucket_connector.main.auth_type
}
