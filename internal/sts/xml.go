package sts

import (
	"strconv"

	"github.com/opensts/opensts/internal/xmlenc"
)

// The AppendXML methods encode the result shapes by hand, without
// reflection. Each appends the element's children (not the element itself)
// exactly as the server's reflective Query encoder would from the xml struct
// tags: same element names and order, escaping and time format; nil pointers
// and empty omitempty fields left out. The server uses them when a result
// has one (awsquery.XMLAppender); a nil receiver appends nothing. A test in
// awsquery checks them against the reflective encoder.

// AppendXML appends the children of Credentials.
func (c *Credentials) AppendXML(b []byte) []byte {
	if c == nil {
		return b
	}
	b = xmlenc.AppendElement(b, "AccessKeyId", c.AccessKeyID)
	b = xmlenc.AppendElement(b, "SecretAccessKey", c.SecretAccessKey)
	b = xmlenc.AppendElement(b, "SessionToken", c.SessionToken)
	return xmlenc.AppendTimeElement(b, "Expiration", c.Expiration)
}

// AppendXML appends the children of AssumedRoleUser.
func (u *AssumedRoleUser) AppendXML(b []byte) []byte {
	if u == nil {
		return b
	}
	b = xmlenc.AppendElement(b, "AssumedRoleId", u.AssumedRoleID)
	return xmlenc.AppendElement(b, "Arn", u.ARN)
}

// AppendXML appends the children of FederatedUser.
func (u *FederatedUser) AppendXML(b []byte) []byte {
	if u == nil {
		return b
	}
	b = xmlenc.AppendElement(b, "FederatedUserId", u.FederatedUserID)
	return xmlenc.AppendElement(b, "Arn", u.ARN)
}

// AppendXML appends the children of AssumeRoleResult.
func (o *AssumeRoleOutput) AppendXML(b []byte) []byte {
	if o == nil {
		return b
	}
	if o.Credentials != nil {
		b = append(b, "<Credentials>"...)
		b = o.Credentials.AppendXML(b)
		b = append(b, "</Credentials>"...)
	}
	if o.AssumedRoleUser != nil {
		b = append(b, "<AssumedRoleUser>"...)
		b = o.AssumedRoleUser.AppendXML(b)
		b = append(b, "</AssumedRoleUser>"...)
	}
	b = appendPackedPolicySize(b, o.PackedPolicySize)
	if o.SourceIdentity != "" {
		b = xmlenc.AppendElement(b, "SourceIdentity", o.SourceIdentity)
	}
	return b
}

// AppendXML appends the children of GetFederationTokenResult.
func (o *GetFederationTokenOutput) AppendXML(b []byte) []byte {
	if o == nil {
		return b
	}
	if o.Credentials != nil {
		b = append(b, "<Credentials>"...)
		b = o.Credentials.AppendXML(b)
		b = append(b, "</Credentials>"...)
	}
	if o.FederatedUser != nil {
		b = append(b, "<FederatedUser>"...)
		b = o.FederatedUser.AppendXML(b)
		b = append(b, "</FederatedUser>"...)
	}
	return appendPackedPolicySize(b, o.PackedPolicySize)
}

// AppendXML appends the children of GetSessionTokenResult.
func (o *GetSessionTokenOutput) AppendXML(b []byte) []byte {
	if o == nil || o.Credentials == nil {
		return b
	}
	b = append(b, "<Credentials>"...)
	b = o.Credentials.AppendXML(b)
	return append(b, "</Credentials>"...)
}

// AppendXML appends the children of GetCallerIdentityResult.
func (o *GetCallerIdentityOutput) AppendXML(b []byte) []byte {
	if o == nil {
		return b
	}
	b = xmlenc.AppendElement(b, "UserId", o.UserID)
	b = xmlenc.AppendElement(b, "Account", o.Account)
	return xmlenc.AppendElement(b, "Arn", o.ARN)
}

func appendPackedPolicySize(b []byte, n *int) []byte {
	if n == nil {
		return b
	}
	b = append(b, "<PackedPolicySize>"...)
	b = strconv.AppendInt(b, int64(*n), 10)
	return append(b, "</PackedPolicySize>"...)
}
