// StackGuardian Bitbucket VCS connectors as code, with credential preflight against Bitbucket.
package sgbitbucket
