package store

import (
	"context"
	"time"
)

// LDAPProvider is an LDAP or Active Directory identity provider of an
// account (an OpenSTS extension): where the directory is, how OpenSTS binds
// to it, and how it finds users and their groups. Names are unique
// case-insensitively within an account.
type LDAPProvider struct {
	Account string
	Name    string
	ARN     string // arn:aws:iam::ACCOUNT:ldap-provider/NAME
	// URL is ldaps://host[:port] or ldap://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection before any bind.
	StartTLS bool
	// AllowInsecure permits binds over an ldap:// connection without
	// StartTLS (passwords cross the network in the clear).
	AllowInsecure bool
	// CACertificates is a PEM bundle of the CAs that sign the directory's
	// certificate; "" means the system roots.
	CACertificates string
	// BindDN and SealedBindPassword are the service account that searches
	// the directory. The password is sealed (seal.Sealer, aad: the ARN)
	// and never returned by the API.
	BindDN             string
	SealedBindPassword []byte
	// UserSearchBase and UserFilter find the user; the filter's {username}
	// is replaced by the escaped user name.
	UserSearchBase string
	UserFilter     string
	// GroupMode is "memberOf" (Active Directory, nested groups by
	// LDAP_MATCHING_RULE_IN_CHAIN), "search" (GroupFilter under
	// GroupSearchBase, {dn} and {username} replaced) or "none".
	GroupMode       string
	GroupSearchBase string
	GroupFilter     string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// LDAPProviders stores LDAP identity providers.
type LDAPProviders interface {
	CreateLDAPProvider(ctx context.Context, p LDAPProvider) error
	// GetLDAPProvider looks a provider up by name (case-insensitively).
	GetLDAPProvider(ctx context.Context, account, name string) (LDAPProvider, error)
	// UpdateLDAPProvider replaces every field but Account, Name, ARN and
	// CreatedAt of the provider with p's Account and Name.
	UpdateLDAPProvider(ctx context.Context, p LDAPProvider) error
	DeleteLDAPProvider(ctx context.Context, account, name string) error
	// ListLDAPProviders lists an account's providers sorted by name.
	ListLDAPProviders(ctx context.Context, account string) ([]LDAPProvider, error)
}
