package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// Rules is the generic mode's map of an HTTP API: which IAM action and
// resource each request is, by method and path. It is read from a YAML or
// JSON file (LoadRules):
//
//	service: petstore          # the SigV4 service name clients sign for
//	rules:
//	  - method: GET
//	    path: /pets/{id}
//	    action: petstore:GetPet
//	    resource: arn:aws:petstore:::pet/{id}
//	  - method: PUT
//	    path: /files/{key+}
//	    action: petstore:PutFile
//	    resource: arn:aws:petstore:::file/{key}
//	    context:
//	      petstore:Key: "{key}"
//
// A path is segments between "/": a literal matches itself, {name} one
// non-empty segment, and {name+}, last only, one or more segments. The
// first rule that matches decides; a request no rule matches is denied.
// Variables are percent-decoded per segment before they are matched or put
// into the resource; a request whose path has a segment that decodes to
// something containing "/" or "\\", or a dot segment, is refused.
// Variables may appear only in the resource part of an ARN template
// (after its fifth ':'), so that no request can move the ARN's partition,
// service, region or account.
//
// Literal segments match case-sensitively unless the file says
// caseInsensitive: true, which an API that reads paths in any case needs
// (otherwise /ADMIN/x misses a rule for /admin/{x} and falls to a later,
// wider rule, or to none): then literals match in any case (Unicode simple
// folding) and variables are lower-cased before they fill the resource and
// the context, so that a policy about pet/secret covers /PETS/SECRET too.
// Warnings names the rules a case-sensitive file lets through that way.
type Rules struct {
	Service         string `json:"service"`
	CaseInsensitive bool   `json:"caseInsensitive,omitempty"`
	// SemicolonsLiteral says that the API behind the gateway reads a ";"
	// in a path as part of its segment. Otherwise a path with one is
	// refused: servlet containers (Tomcat, Jetty, Spring) drop ";..." from
	// each segment as path parameters, so that /pets/secret;x, which a
	// rule's {id} takes as "secret;x", is /pets/secret to them, past a Deny
	// on pet/secret.
	SemicolonsLiteral bool   `json:"semicolonsLiteral,omitempty"`
	Rules             []Rule `json:"rules"`
}

// Rule is one entry of Rules.
type Rule struct {
	// Method is an HTTP method, or "*" for any.
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Action   string            `json:"action"`
	Resource string            `json:"resource"`
	Context  map[string]string `json:"context,omitempty"`

	segs []segment
}

type segment struct {
	literal string
	name    string // a variable
	greedy  bool   // {name+}
}

// Match is what a matched rule makes of a request.
type Match struct {
	Action   string
	Resource string
	Context  map[string][]string
}

var (
	serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	methodName  = regexp.MustCompile(`^[A-Z]{1,20}$`)
	actionName  = regexp.MustCompile(`^[a-zA-Z0-9-]{1,64}:[A-Za-z0-9]{1,128}$`)
	varName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	templateVar = regexp.MustCompile(`\{[^{}]*\}`)
)

// LoadRules reads and checks a rules file (YAML or JSON).
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return ParseRules(b)
}

// ParseRules parses and checks a rules document (YAML or JSON). Unknown
// fields are refused, so that a misspelt key does not silently widen a
// rule.
func ParseRules(doc []byte) (*Rules, error) {
	var rs Rules
	if err := yaml.UnmarshalStrict(doc, &rs); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	if !serviceName.MatchString(rs.Service) {
		return nil, errors.New("parse rules: service must be a SigV4 service name (lowercase letters, digits, '-')")
	}
	if reservedServices(rs.Service) {
		return nil, fmt.Errorf("parse rules: service %q is one OpenSTS answers itself", rs.Service)
	}
	if len(rs.Rules) == 0 {
		return nil, errors.New("parse rules: no rules")
	}
	for i := range rs.Rules {
		if err := rs.Rules[i].compile(); err != nil {
			return nil, fmt.Errorf("parse rules: rule %d (%s %s): %w", i+1, rs.Rules[i].Method, rs.Rules[i].Path, err)
		}
	}
	return &rs, nil
}

// Warnings returns what the file lets through that its author likely did
// not mean: in a case-sensitive file, a later rule that has a variable
// where an earlier rule has a literal and can match the same paths in
// another case (a catch-all after specific rules), so that an API behind
// that reads paths in any case serves /ADMIN/x, meant for the earlier
// rule, under the later one's action. Set caseInsensitive: true, or state
// that the API is case-sensitive, to silence it.
func (rs *Rules) Warnings() []string {
	if rs.CaseInsensitive {
		return nil
	}
	var out []string
	for j := range rs.Rules {
		later := &rs.Rules[j]
		for i := range j {
			earlier := &rs.Rules[i]
			if earlier.Method != "*" && later.Method != "*" && earlier.Method != later.Method {
				continue
			}
			if shadowsCase(earlier.segs, later.segs) {
				out = append(out, fmt.Sprintf("rules: rule %d (%s %s) matches the paths of rule %d (%s %s) written in another case, "+
					"which an API that reads paths in any case serves as rule %d's; set caseInsensitive: true if it does",
					j+1, later.Method, later.Path, i+1, earlier.Method, earlier.Path, i+1))
				break
			}
		}
	}
	return out
}

// shadowsCase reports whether some path matches both a and b when
// literals are compared in any case, with b taking a variable where a
// has a literal: a case variant of a's paths then goes to b.
func shadowsCase(a, b []segment) bool {
	wider := false
	for i := 0; ; i++ {
		if i >= len(a) || i >= len(b) {
			return wider && len(a) == len(b)
		}
		sa, sb := a[i], b[i]
		if sb.name != "" && sa.name == "" {
			wider = true
		}
		if sb.greedy {
			// The rest of the path is b's, whatever a's segments are:
			// any literal among them is matched in any case.
			for _, s := range a[i:] {
				wider = wider || s.name == ""
			}
			return wider
		}
		if sa.greedy {
			return wider
		}
		if sa.name == "" && sb.name == "" && !strings.EqualFold(sa.literal, sb.literal) {
			return false
		}
	}
}

// reservedServices are answered by OpenSTS itself: a request signed for
// them is OpenSTS's, never a generic API's (and OpenSTS hands out no
// signing key of theirs).
func reservedServices(s string) bool {
	switch s {
	case "sts", "iam", "organizations", "opensts", "cloudtrail", "s3":
		return true
	}
	return false
}

func (r *Rule) compile() error {
	if r.Method != "*" && !methodName.MatchString(r.Method) {
		return errors.New("method must be an uppercase HTTP method or *")
	}
	if !strings.HasPrefix(r.Path, "/") {
		return errors.New("path must start with /")
	}
	vars := map[string]bool{}
	parts := strings.Split(r.Path[1:], "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			greedy := strings.HasSuffix(name, "+")
			name = strings.TrimSuffix(name, "+")
			if !varName.MatchString(name) || vars[name] {
				return fmt.Errorf("%q is not a new variable name", p)
			}
			if greedy && i != len(parts)-1 {
				return fmt.Errorf("%q: a {name+} variable must be the last segment", p)
			}
			vars[name] = true
			r.segs = append(r.segs, segment{name: name, greedy: greedy})
		case strings.ContainsAny(p, "{}"):
			return fmt.Errorf("segment %q: a variable must be a whole segment", p)
		case p == "." || p == "..":
			return errors.New("a path has no dot segments")
		default:
			r.segs = append(r.segs, segment{literal: p})
		}
	}
	if !actionName.MatchString(r.Action) {
		return errors.New("action must be service:Name, without wildcards")
	}
	if err := checkTemplate(r.Resource, vars, true); err != nil {
		return fmt.Errorf("resource: %w", err)
	}
	for k, v := range r.Context {
		if !strings.Contains(k, ":") || strings.HasPrefix(strings.ToLower(k), "aws:") || strings.HasPrefix(strings.ToLower(k), "opensts:") {
			return fmt.Errorf("context key %q must be service:Name, not a global (aws:, opensts:) key", k)
		}
		if err := checkTemplate(v, vars, false); err != nil {
			return fmt.Errorf("context %s: %w", k, err)
		}
	}
	return nil
}

// checkTemplate checks that t names only known variables and, for an ARN,
// only in its resource part.
func checkTemplate(t string, vars map[string]bool, arn bool) error {
	if arn {
		if t != "*" && (!strings.HasPrefix(t, "arn:") || strings.Count(t, ":") < 5) {
			return errors.New("must be an ARN (arn:partition:service:region:account:resource) or *")
		}
	}
	for _, loc := range templateVar.FindAllStringIndex(t, -1) {
		name := t[loc[0]+1 : loc[1]-1]
		if !vars[name] {
			return fmt.Errorf("{%s} is no variable of the path", name)
		}
		if arn && strings.Count(t[:loc[0]], ":") < 5 {
			return fmt.Errorf("{%s}: variables may stand only in the ARN's resource part", name)
		}
	}
	rest := templateVar.ReplaceAllString(t, "")
	if strings.ContainsAny(rest, "{}") {
		return errors.New("unbalanced { or }")
	}
	return nil
}

// Match returns the first rule's answer for method and the decoded
// segments of a path, or false when no rule matches.
func (rs *Rules) Match(method string, segs []string) (*Match, bool) {
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if r.Method != "*" && r.Method != method {
			continue
		}
		vars, ok := r.match(segs, rs.CaseInsensitive)
		if !ok {
			continue
		}
		m := &Match{Action: r.Action, Resource: expand(r.Resource, vars)}
		if len(r.Context) > 0 {
			m.Context = make(map[string][]string, len(r.Context))
			for k, v := range r.Context {
				m.Context[k] = []string{expand(v, vars)}
			}
		}
		return m, true
	}
	return nil, false
}

// Lookalike reports whether, in a caseInsensitive file, segs match a
// rule only when letters are compared as other case-insensitive servers
// compare them, beyond Unicode simple folding: Java's
// Character.toLowerCase (Spring) reads U+0130 (İ) as i, its
// equalsIgnoreCase and .NET's upper-casing read U+0131 (ı) as I. Such a
// path misses the rule here and goes to a later, wider one while the API
// behind serves it as the rule's path: it is refused instead.
func (rs *Rules) Lookalike(segs []string) bool {
	if !rs.CaseInsensitive {
		return false
	}
	ascii := true
	for _, s := range segs {
		for i := 0; i < len(s); i++ {
			ascii = ascii && s[i] < utf8.RuneSelf
		}
	}
	if ascii {
		return false // simple folding is every server's reading
	}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if _, ok := r.match(segs, true); ok {
			continue
		}
		if _, ok := r.matchLoose(segs); ok {
			return true
		}
	}
	return false
}

// matchLoose is match in any case, with literals compared by looseEqual.
func (r *Rule) matchLoose(segs []string) (map[string]string, bool) {
	lit := make([]segment, len(r.segs))
	copy(lit, r.segs)
	loose := Rule{segs: lit}
	for i := range lit {
		if lit[i].name == "" && i < len(segs) && looseEqual(lit[i].literal, segs[i]) {
			lit[i].literal = segs[i]
		}
	}
	return loose.match(segs, true)
}

// looseEqual reports whether a and b are equal when each rune is mapped
// to the lower case of its upper case (ı and İ to i, ſ to s, K to k), as
// the loosest of the servers' case-insensitive comparisons do.
func looseEqual(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if unicode.ToLower(unicode.ToUpper(ra)) != unicode.ToLower(unicode.ToUpper(rb)) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == b
}

func (r *Rule) match(segs []string, fold bool) (map[string]string, bool) {
	vars := map[string]string{}
	value := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	for i, s := range r.segs {
		if s.greedy {
			rest := segs[i:]
			if len(rest) == 0 {
				return nil, false
			}
			for _, p := range rest {
				if p == "" || strings.Contains(p, "/") {
					return nil, false
				}
			}
			vars[s.name] = value(strings.Join(rest, "/"))
			return vars, true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch {
		case s.name != "":
			if segs[i] == "" || strings.Contains(segs[i], "/") {
				return nil, false
			}
			vars[s.name] = value(segs[i])
		case fold && !strings.EqualFold(s.literal, segs[i]), !fold && s.literal != segs[i]:
			return nil, false
		}
	}
	return vars, len(segs) == len(r.segs)
}

func expand(t string, vars map[string]string) string {
	return templateVar.ReplaceAllStringFunc(t, func(v string) string { return vars[v[1:len(v)-1]] })
}

// splitPath checks an origin-form request path and returns its decoded
// segments. It refuses what a server behind the gateway could read as
// another path than the policy saw: dot segments (also percent-encoded),
// an encoded "/" or a "\\" (which some servers read as "/"), invalid
// percent-encoding or UTF-8, and NUL. A dot segment with path parameters
// ("..;x", also encoded) is one too: servlet containers (Tomcat, Jetty)
// drop a segment's ";..." before they resolve dot segments, so that
// /public/..;/admin is /admin to them. Unless semicolons (the API reads ";"
// as part of a segment: Rules.SemicolonsLiteral), so is any ";", encoded
// or not: to those containers /pets/secret;x is /pets/secret.
func splitPath(rawPath string, semicolons bool) ([]string, *Error) {
	if !strings.HasPrefix(rawPath, "/") {
		return nil, errInvalidURI
	}
	parts := strings.Split(rawPath[1:], "/")
	out := make([]string, len(parts))
	for i, p := range parts {
		d, err := pathUnescape(p)
		base, _, params := strings.Cut(d, ";")
		if err != nil || base == "." || base == ".." || strings.ContainsAny(d, "/\\\x00") || params && !semicolons {
			return nil, errInvalidURI
		}
		out[i] = d
	}
	return out, nil
}

var errInvalidURI = s3err(http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.")
