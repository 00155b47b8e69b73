package policy

import "strings"

// String returns the kind's lowercase name as the CLI spells it: identity,
// resource, trust, boundary, session, scp, managed or rcp.
func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource"
	case Trust:
		return "trust"
	case Boundary:
		return "boundary"
	case Session:
		return "session"
	case SCP:
		return "scp"
	case Managed:
		return "managed"
	case RCP:
		return "rcp"
	}
	return "unknown"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k := Identity; k <= RCP; k++ {
		if strings.EqualFold(s, k.String()) {
			return k, true
		}
	}
	return 0, false
}

// String returns the IAM policy simulator's spelling: "implicitDeny",
// "allowed" or "explicitDeny".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// String returns the principal type's name as aws:PrincipalType spells it
// where one exists.
func (t PrincipalType) String() string {
	switch t {
	case Root:
		return "Account"
	case User:
		return "User"
	case AssumedRole:
		return "AssumedRole"
	case FederatedUser:
		return "FederatedUser"
	case Service:
		return "Service"
	case WebIdentity:
		return "WebIdentity"
	case SAMLUser:
		return "SAMLUser"
	case LDAPUser:
		return "LDAPUser"
	}
	return "Anonymous"
}

func (k Kind) phrase() string {
	switch k {
	case Identity:
		return "an identity-based policy"
	case Resource, Trust:
		return "a resource-based policy"
	case Boundary:
		return "a permissions boundary"
	case Session:
		return "a session policy"
	case SCP:
		return "a service control policy"
	case Managed:
		return "a managed policy"
	case RCP:
		return "a resource control policy"
	}
	return "a policy"
}

func (k Kind) noPhrase() string {
	switch k {
	case Identity:
		return "no identity-based policy"
	case Resource, Trust:
		return "no resource-based policy"
	case Boundary:
		return "no permissions boundary"
	case Session:
		return "no session policy"
	case SCP:
		return "no service control policy"
	case Managed:
		return "no managed policy"
	case RCP:
		return "no resource control policy"
	}
	return "no policy"
}

// Explain renders a one-line human reason for a denial, AWS style, e.g.
// "because no identity-based policy allows the iam:CreateUser action" or
// "with an explicit deny in a service control policy". It returns "" for an
// Allow.
func (d Decision) Explain(action string) string {
	switch d.Effect {
	case ExplicitDeny:
		return "with an explicit deny in " + d.DeniedBy.phrase()
	case ImplicitDeny:
		k := d.DeniedBy
		if k == 0 {
			k = Identity
		}
		return "because " + k.noPhrase() + " allows the " + action + " action"
	}
	return ""
}
