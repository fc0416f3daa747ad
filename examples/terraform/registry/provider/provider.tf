terraform {
  required_providers {
    sgbitbucket = {
      source = "stackguardian/sgbitbucket"
    }
  }
}

variable "sg_api_key" {
  type      = string
  sensitive = true
}

# Every argument may be left out: the environment fills it in (STACKGUARDIAN_API_KEY or SG_API_TOKEN,
# STACKGUARDIAN_ORG_NAME or SG_ORG, STACKGUARDIAN_API_URI or SG_BASE_URL, BITBUCKET_API_URL).
provider "sgbitbucket" {
  api_key  = var.sg_api_key
  org_name = "acme"
}
