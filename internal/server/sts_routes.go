package server

import "github.com/opensts/opensts/internal/sts"

func stsRoutes(s *sts.Service) map[string]handler {
	return map[string]handler{
		"AssumeRole":                 bind(s.AssumeRole),
		"GetSessionToken":            bind(s.GetSessionToken),
		"GetFederationToken":         bind(s.GetFederationToken),
		"GetCallerIdentity":          bind(s.GetCallerIdentity),
		"GetAccessKeyInfo":           bind(s.GetAccessKeyInfo),
		"DecodeAuthorizationMessage": bind(s.DecodeAuthorizationMessage),
		"AssumeRoleWithSAML":         bindUnsigned(s.AssumeRoleWithSAML),
		"AssumeRoleWithWebIdentity":  bindUnsigned(s.AssumeRoleWithWebIdentity),
		"AssumeRoleWithLDAPIdentity": bindUnsigned(s.AssumeRoleWithLDAPIdentity),
		"GetWebIdentityToken":        bind(s.GetWebIdentityToken),
		"AssumeRoot":                 bind(s.AssumeRoot),
	}
}
