# A connector clicked together in the StackGuardian UI, or written by another tool; its Id may hold
# hyphens. Declare it with the auth type it should have from now on (api_token or access_token).
import {
  to = sgbitbucket_connector.main
  id = "bitbucket-main"
}
