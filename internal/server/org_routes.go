package server

import "github.com/opensts/opensts/internal/org"

// orgRoutes are the Organizations actions, by X-Amz-Target action name.
func orgRoutes(s *org.Service) map[string]jsonHandler {
	return map[string]jsonHandler{
		"DescribeOrganization":        bindJSON(s.DescribeOrganization),
		"CreateOrganization":          bindJSON(s.CreateOrganization),
		"CreateAccount":               bindJSON(s.CreateAccount),
		"DescribeCreateAccountStatus": bindJSON(s.DescribeCreateAccountStatus),
		"ListCreateAccountStatus":     bindJSON(s.ListCreateAccountStatus),
		"DescribeAccount":             bindJSON(s.DescribeAccount),
		"ListAccounts":                bindJSON(s.ListAccounts),
		"ListRoots":                   bindJSON(s.ListRoots),
		"CreatePolicy":                bindJSON(s.CreatePolicy),
		"DescribePolicy":              bindJSON(s.DescribePolicy),
		"UpdatePolicy":                bindJSON(s.UpdatePolicy),
		"DeletePolicy":                bindJSON(s.DeletePolicy),
		"AttachPolicy":                bindJSON(s.AttachPolicy),
		"DetachPolicy":                bindJSON(s.DetachPolicy),
		"ListPolicies":                bindJSON(s.ListPolicies),
		"ListPoliciesForTarget":       bindJSON(s.ListPoliciesForTarget),
		"ListTargetsForPolicy":        bindJSON(s.ListTargetsForPolicy),

		"CreateOrganizationalUnit":         bindJSON(s.CreateOrganizationalUnit),
		"UpdateOrganizationalUnit":         bindJSON(s.UpdateOrganizationalUnit),
		"DeleteOrganizationalUnit":         bindJSON(s.DeleteOrganizationalUnit),
		"DescribeOrganizationalUnit":       bindJSON(s.DescribeOrganizationalUnit),
		"ListOrganizationalUnitsForParent": bindJSON(s.ListOrganizationalUnitsForParent),
		"ListChildren":                     bindJSON(s.ListChildren),
		"ListParents":                      bindJSON(s.ListParents),
		"ListAccountsForParent":            bindJSON(s.ListAccountsForParent),
		"MoveAccount":                      bindJSON(s.MoveAccount),
		"EnablePolicyType":                 bindJSON(s.EnablePolicyType),
		"DisablePolicyType":                bindJSON(s.DisablePolicyType),
		"TagResource":                      bindJSON(s.TagResource),
		"UntagResource":                    bindJSON(s.UntagResource),
		"ListTagsForResource":              bindJSON(s.ListTagsForResource),
	}
}
