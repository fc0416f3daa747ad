variable "sg_api_key" {
  description = "StackGuardian API key (null: STACKGUARDIAN_API_KEY or SG_API_TOKEN)."
  type        = string
  sensitive   = true
  default     = null
}

variable "sg_org" {
  description = "StackGuardian org (null: STACKGUARDIAN_ORG_NAME or SG_ORG)."
  type        = string
  default     = null
}

variable "sg_api_uri" {
  description = "StackGuardian API base (null: STACKGUARDIAN_API_URI, SG_BASE_URL, else the public API)."
  type        = string
  default     = null
}

variable "bitbucket_api_url" {
  description = "Bitbucket API base for preflight (null: BITBUCKET_API_URL, else https://api.bitbucket.org/2.0)."
  type        = string
  default     = null
}

variable "workspace" {
  description = "Bitbucket workspace slug (bitbucket.org/<slug>)."
  type        = string
}

variable "bitbucket_username" {
  description = "Bitbucket username of the API token's owner."
  type        = string
}

variable "atlassian_email" {
  description = "Atlassian account email of the API token's owner."
  type        = string
}

variable "bitbucket_api_token" {
  description = "Atlassian API token with Bitbucket read scopes. Pass it as TF_VAR_bitbucket_api_token."
  type        = string
  sensitive   = true
}

variable "infra_repository" {
  description = "Repository slug the access token was created in."
  type        = string
  default     = "infra"
}

variable "bitbucket_infra_access_token" {
  description = "Repository access token. Pass it as TF_VAR_bitbucket_infra_access_token."
  type        = string
  sensitive   = true
}

variable "team_repositories" {
  description = "Team name -> repository slug: one repository access-token connector each (default none)."
  type        = map(string)
  default     = {}
}

variable "team_access_tokens" {
  description = "Team name -> that repository's access token."
  type        = map(string)
  sensitive   = true
  default     = {}
}
