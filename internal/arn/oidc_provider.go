package arn

// OIDCProvider formats arn:aws:iam::ACCOUNT:oidc-provider/NAME, NAME being
// the provider URL without https://.
func OIDCProvider(account, name string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + name
}
