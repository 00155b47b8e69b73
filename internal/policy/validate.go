package policy

import (
	"sort"
	"strconv"
	"strings"
)

// AWS's MalformedPolicyDocument messages.
const (
	msgSyntax          = "Syntax errors in policy."
	msgVersion         = "Policy document must be version 2012-10-17 or greater."
	msgLegacy          = "The policy failed legacy parsing"
	msgSidUnique       = "Statement IDs (SID) in a single policy must be unique."
	msgNoActions       = "Policy statement must contain actions."
	msgNoResources     = "Policy statement must contain resources."
	msgVendorPrefix    = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon        = "Actions/Condition can contain only one colon."
	msgVendorQualified = "Resource vendor must be fully qualified and cannot contain regexes."
	msgPrincipal       = "Policy document should not specify a principal."
	msgMissingPrinc    = "Missing required field Principal"
	msgUnknownOperator = "Syntax errors in policy."
)

var (
	topElements       = []string{"Version", "Id", "Statement", "Conditions"}
	statementElements = []string{"Sid", "Action", "NotAction", "Resource", "NotResource", "Effect", "Principal", "NotPrincipal", "Condition"}
	iamResourceTypes  = []string{"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/"}
	validPartitions   = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", "*"}
)

// maxSize is the largest document of each kind, counted without whitespace
// (IAM and Organizations quotas; the largest a single document of that kind
// can be).
func maxSize(k Kind) int {
	switch k {
	case Identity:
		return 10240 // role inline policies; users' and managed policies are smaller
	case Boundary, Managed:
		return 6144 // a managed policy
	case Session:
		return 2048
	case Trust:
		return 4096
	case SCP, RCP:
		return 5120
	}
	return 20480 // resource-based policies (S3 bucket policies)
}

// MaxSize returns the size quota, in non-whitespace characters, that Parse
// enforces for documents of kind k.
func MaxSize(k Kind) int { return maxSize(k) }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func malformed(msg string) *Error { return &Error{Message: msg} }

// validate applies IAM's checks in IAM's order, so that a document with
// several faults gets the message AWS gives, then the rules of kind k. It
// returns the statement nodes.
func validate(kind Kind, root *node) ([]*node, *Error) {
	stmts, ok := validateSyntax(root)
	if !ok {
		return nil, malformed(msgSyntax)
	}
	version, _ := root.get("Version")
	switch kind {
	case Identity, Boundary, Session, Managed:
		if version == nil || version.str != "2012-10-17" {
			return nil, malformed(msgVersion)
		}
	}
	// Legacy parsing: Effect spelling, dates, resource formats.
	for _, st := range stmts {
		e, _ := st.get("Effect")
		if e.str != "Allow" && e.str != "Deny" {
			return nil, malformed(msgLegacy)
		}
		if c, ok := st.get("Condition"); ok {
			for i, op := range c.keys {
				if !strings.HasPrefix(stripQualifiers(op), "Date") {
					continue
				}
				for _, v := range c.vals[i].vals {
					for _, s := range v.strs() {
						if !legacyDate(s) {
							return nil, malformed(msgLegacy)
						}
					}
				}
			}
		}
	}
	resourceErr := ""
	for _, key := range []string{"Resource", "NotResource"} {
		for _, st := range stmts {
			r, ok := st.get(key)
			if !ok {
				continue
			}
			list := r.strs()
			if r.kind == 'a' {
				sort.Sort(sort.Reverse(sort.StringSlice(list)))
			}
			for _, res := range list {
				if msg := resourceFormat(res); msg != "" {
					resourceErr = msg
				}
			}
			if resourceErr == "" {
				for _, res := range list {
					if res != "*" && strings.Count(res, ":") < 5 && strings.Contains(res, "::") {
						return nil, malformed(msgLegacy)
					}
					if res != "*" && len(strings.Split(res, ":")) > 2 && strings.Split(res, ":")[2] == "" {
						return nil, malformed(msgLegacy)
					}
				}
			}
		}
	}
	sids := map[string]bool{}
	for _, st := range stmts {
		if s, ok := st.get("Sid"); ok && s.str != "" {
			if sids[s.str] {
				return nil, malformed(msgSidUnique)
			}
			sids[s.str] = true
		}
	}
	for _, st := range stmts {
		if !nonEmpty(st, "Action", "NotAction") {
			return nil, malformed(msgNoActions)
		}
	}
	for _, key := range []string{"Action", "NotAction"} {
		for _, st := range stmts {
			if a, ok := st.get(key); ok {
				for _, s := range a.strs() {
					if msg := actionPrefix(s); msg != "" {
						return nil, malformed(msg)
					}
				}
			}
		}
	}
	for _, st := range stmts {
		if kind == Trust {
			break // the role is the implicit resource
		}
		if !nonEmpty(st, "Resource", "NotResource") {
			return nil, malformed(msgNoResources)
		}
	}
	if resourceErr != "" {
		return nil, malformed(resourceErr)
	}
	if err := validateKind(kind, stmts); err != nil {
		return nil, err
	}
	return stmts, nil
}

func nonEmpty(st *node, a, b string) bool {
	if n, ok := st.get(a); ok {
		return n.kind != 'a' || len(n.arr) > 0
	}
	if n, ok := st.get(b); ok {
		return n.kind != 'a' || len(n.arr) > 0
	}
	return false
}

func validateSyntax(root *node) ([]*node, bool) {
	if root.kind != 'o' {
		return nil, false
	}
	for _, k := range root.keys {
		if !contains(topElements, k) {
			return nil, false
		}
	}
	if v, ok := root.get("Version"); ok && (v.kind != 's' || (v.str != "2012-10-17" && v.str != "2008-10-17")) {
		return nil, false
	}
	if v, ok := root.get("Id"); ok && v.kind != 's' {
		return nil, false
	}
	s, ok := root.get("Statement")
	if !ok {
		return nil, false
	}
	var stmts []*node
	switch s.kind {
	case 'o':
		stmts = []*node{s}
	case 'a':
		stmts = s.arr
	default:
		return nil, false
	}
	if len(stmts) == 0 {
		return nil, false
	}
	for _, st := range stmts {
		if !statementSyntax(st) {
			return nil, false
		}
	}
	return stmts, true
}

func statementSyntax(st *node) bool {
	if st.kind != 'o' {
		return false
	}
	for _, k := range st.keys {
		if !contains(statementElements, k) {
			return false
		}
	}
	if (st.has("Resource") && st.has("NotResource")) || (st.has("Action") && st.has("NotAction")) || (st.has("Principal") && st.has("NotPrincipal")) {
		return false
	}
	e, ok := st.get("Effect")
	if !ok || e.kind != 's' || (!strings.EqualFold(e.str, "Allow") && !strings.EqualFold(e.str, "Deny")) {
		return false
	}
	for _, k := range []string{"Action", "NotAction", "Resource", "NotResource"} {
		if n, ok := st.get(k); ok && !stringOrList(n) {
			return false
		}
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if n, ok := st.get(k); ok && !principalSyntax(n) {
			return false
		}
	}
	if c, ok := st.get("Condition"); ok {
		if c.kind != 'o' {
			return false
		}
		for i, op := range c.keys {
			block := c.vals[i]
			if block.kind != 'o' {
				return false
			}
			for _, v := range block.vals {
				if !conditionValueSyntax(v) {
					return false
				}
			}
			if _, ok := parseOperator(op); !ok && len(block.keys) > 0 {
				return false // unknown operator: fail closed
			}
		}
	}
	if s, ok := st.get("Sid"); ok && s.kind != 's' {
		return false
	}
	return true
}

func stringOrList(n *node) bool {
	switch n.kind {
	case 's':
		return true
	case 'a':
		for _, e := range n.arr {
			if e.kind != 's' && e.kind != 'z' {
				return false
			}
		}
		return true
	}
	return false
}

func conditionValueSyntax(n *node) bool {
	switch n.kind {
	case 's', 'n', 'b':
		return true
	case 'a':
		for _, e := range n.arr {
			if e.kind != 's' && e.kind != 'n' && e.kind != 'b' {
				return false
			}
		}
		return true
	}
	return false
}

func principalSyntax(n *node) bool {
	switch n.kind {
	case 's':
		return n.str == "*"
	case 'o':
		if len(n.keys) == 0 {
			return false
		}
		for i, k := range n.keys {
			switch k {
			case "AWS", "Federated", "Service", "CanonicalUser":
			default:
				return false
			}
			v := n.vals[i]
			if v.kind == 'a' {
				if len(v.arr) == 0 {
					return false
				}
				for _, e := range v.arr {
					if e.kind != 's' {
						return false
					}
				}
			} else if v.kind != 's' {
				return false
			}
		}
		return true
	}
	return false
}

// stripQualifiers removes one ForAnyValue:/ForAllValues: prefix and an
// IfExists suffix.
func stripQualifiers(op string) string {
	for _, p := range []string{"ForAnyValue:", "ForAllValues:"} {
		if strings.HasPrefix(op, p) {
			op = op[len(p):]
			break
		}
	}
	return strings.TrimSuffix(op, "IfExists")
}

// resourceFormat returns IAM's message for a malformed Resource, or "".
func resourceFormat(res string) string {
	if res == "*" {
		return ""
	}
	_, rest, ok := strings.Cut(res, ":")
	if !ok {
		return "Resource " + res + ` must be in ARN format or "*".`
	}
	partition, rest, ok := strings.Cut(rest, ":")
	if !contains(validPartitions, partition) {
		parts := strings.Split(rest, ":")
		if !ok {
			parts = []string{""}
		}
		seg := func(i int) string {
			if i < len(parts) && (parts[i] != "" || len(parts) > 1) {
				if i == 3 {
					return strings.Join(parts[3:], ":")
				}
				return parts[i]
			}
			return "*"
		}
		return `Partition "` + partition + `" is not valid for resource "arn:` + partition + ":" + seg(0) + ":" + seg(1) + ":" + seg(2) + ":" + seg(3) + `".`
	}
	if !ok {
		return msgVendorQualified
	}
	service, rest, _ := strings.Cut(rest, ":")
	// Region information is refused unless an account follows (S3 access
	// points carry both).
	if region, after, _ := strings.Cut(rest, ":"); region != "" && !strings.HasPrefix(after, ":") && service == "s3" {
		return ""
	}
	if !strings.HasPrefix(rest, ":") {
		switch service {
		case "iam":
			return "IAM resource " + res + " cannot contain region information."
		case "s3":
			return "Resource " + res + " can not contain region information."
		}
	}
	if service == "iam" {
		_, rest, _ = strings.Cut(rest, ":")
		_, rest, _ = strings.Cut(rest, ":")
		for _, p := range iamResourceTypes {
			if strings.HasPrefix(rest, p) {
				return ""
			}
		}
		return `IAM resource path must either be "*" or start with ` + strings.Join(iamResourceTypes, ", ") + "."
	}
	return ""
}

// actionPrefix returns IAM's message for a malformed action name, or "".
func actionPrefix(action string) string {
	parts := strings.Split(action, ":")
	if len(parts) == 1 && parts[0] != "*" {
		return msgVendorPrefix
	}
	if len(parts) > 2 {
		return msgOneColon
	}
	if parts[0] != "*" {
		for i := 0; i < len(parts[0]); i++ {
			c := parts[0][i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return "Vendor " + parts[0] + " is not valid"
			}
		}
	}
	return ""
}

// legacyDate is IAM's legacy check of a Date condition value: an ISO 8601
// date-time with fields in range, or epoch seconds.
func legacyDate(v string) bool {
	low := strings.ToLower(v)
	if !strings.Contains(low, "t") && !strings.Contains(v, "-") {
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n >= 0
	}
	inRange := func(s string, lo, hi int64) bool {
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
		return err == nil && s != "" && s[0] != '+' && n >= lo && n <= hi
	}
	date, clock, _ := strings.Cut(low, "t")
	neg := strings.HasPrefix(date, "-")
	parts := strings.Split(strings.TrimPrefix(date, "-"), "-")
	year := parts[0]
	if neg {
		year = "-" + year
	}
	if !inRange(year, -292275054, 292278993) || len(parts) > 3 {
		return false
	}
	if len(parts) > 1 && !inRange(parts[1], 1, 12) {
		return false
	}
	if len(parts) > 2 && !inRange(parts[2], 1, 31) {
		return false
	}
	tp := strings.Split(clock, ":")
	if tp[0] != "" && !inRange(tp[0], 0, 23) {
		return false
	}
	if len(tp) > 1 && !inRange(tp[1], 0, 59) {
		return false
	}
	if len(tp) > 2 {
		sec := tp[2]
		if i := strings.IndexByte(sec, 'z'); i >= 0 {
			if sec[i+1:] != "" {
				return false
			}
			sec = sec[:i]
		} else if i := strings.IndexByte(sec, '+'); i >= 0 {
			tz := sec[i+1:]
			sec = sec[:i]
			h, m, hasM := strings.Cut(tz, ":")
			if len(h) != 2 || !inRange(h, 0, 23) {
				return false
			}
			if hasM && (len(m) != 2 || !inRange(m, 0, 59)) {
				return false
			}
		}
		whole, frac, hasFrac := strings.Cut(sec, ".")
		if !inRange(whole, 0, 59) {
			return false
		}
		if hasFrac && !inRange(frac, 0, 999999999) {
			return false
		}
	}
	return true
}

// validateKind applies the rules that depend on what the policy is attached
// to.
func validateKind(kind Kind, stmts []*node) *Error {
	for _, st := range stmts {
		hasP, hasNP := st.has("Principal"), st.has("NotPrincipal")
		switch kind {
		case Identity, Boundary, Session, SCP, Managed:
			if hasP || hasNP {
				return malformed(msgPrincipal)
			}
		case Trust:
			if hasNP {
				return malformed("Has prohibited field NotPrincipal")
			}
			if !hasP {
				return malformed(msgMissingPrinc)
			}
			if st.has("Resource") || st.has("NotResource") {
				return malformed("Has prohibited field Resource")
			}
		case Resource:
			if !hasP && !hasNP {
				return malformed(msgMissingPrinc)
			}
		case RCP:
			// An RCP binds every caller: its Principal, when it has one,
			// is "*".
			if hasNP {
				return malformed("Has prohibited field NotPrincipal")
			}
			if p, ok := st.get("Principal"); ok && (p.kind != 's' || p.str != "*") {
				return malformed(`A resource control policy's Principal must be "*"`)
			}
		}
		for _, key := range []string{"Principal", "NotPrincipal"} {
			if p, ok := st.get(key); ok {
				if msg := principalValues(p); msg != "" {
					return malformed(msg)
				}
			}
		}
		if c, ok := st.get("Condition"); ok {
			for i, op := range c.keys {
				o, ok := parseOperator(op)
				if !ok {
					continue // an empty block of an unknown operator (accepted by IAM)
				}
				block := c.vals[i]
				for j, key := range block.keys {
					if msg := conditionValues(o, key, block.vals[j].strs()); msg != "" {
						return malformed(msg)
					}
				}
			}
		}
	}
	return nil
}
