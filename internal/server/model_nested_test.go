package server

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/sigv4"
)

// inputCase is one input member's value that breaks exactly one constraint
// somewhere inside it: the member itself, a list's length, a list
// element, a member of a structure (of a list element), everything else
// in it valid.
type inputCase struct {
	value any // string, int, bool, []any or map[string]any
	// path is where the broken constraint is, below the member, as AWS's
	// ValidationError names it: "" (the member), ".1.member" (a list's
	// first element), ".1.member.key", ".arn".
	path       string
	constraint string // "Member must have length less than or equal to 128", ...
}

// maxListCase bounds the elements of a list built to break its maximum
// length: longer lists are not driven.
const maxListCase = 200

// caseGen builds inputCases from a model.
type caseGen struct {
	t *testing.T
	m *serviceModel
	// enums: also a value out of each enum shape's set.
	enums bool
	// listEnumAtList: a list of enums is named whole (IAM's Query
	// protocol), not by element.
	listEnumAtList bool
}

// stringCandidates are tried, beside runs of one character, for a valid
// value of a string shape with a pattern.
var stringCandidates = []string{
	"a", "abc", "A1", "1", "123456789012", "ALL", "AWS", "x@example.com", "ec2.amazonaws.com", "/", "/a/",
	"arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:policy/x", "arn:aws:iam::aws:policy/x",
	"p-abcdefgh12", "ou-abcd-abcdefgh", "r-abcd", "o-abcdefghij", "h-abcdefghij", "car-abcdefghij",
	"arn:aws:organizations::123456789012:policy/o-abcdefghij/service_control_policy/p-abcdefgh12",
}

// valid returns a value that satisfies every constraint of shape, or false
// when none of the values tried does.
func (g *caseGen) valid(shape string, depth int) (any, bool) {
	s := g.m.Shapes[shape]
	if depth > 4 {
		return nil, false
	}
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return s.Enum[0], true
		}
		tries := slices.Clone(stringCandidates)
		n := 1
		if s.Min != nil && *s.Min > 1 {
			n = int(*s.Min)
		}
		for _, c := range []string{"a", "1", "A"} {
			tries = append(tries, strings.Repeat(c, n))
		}
		for _, v := range tries {
			if g.stringOK(s, v) {
				return v, true
			}
		}
		return nil, false
	case "integer", "long":
		v := 1
		if s.Min != nil {
			v = int(*s.Min)
		}
		if s.Max != nil && v > int(*s.Max) {
			return nil, false
		}
		return v, true
	case "boolean":
		return true, true
	case "list":
		n := 1
		if s.Min != nil && *s.Min > 1 {
			n = int(*s.Min)
		}
		e, ok := g.valid(s.Member.Shape, depth+1)
		if !ok {
			return nil, false
		}
		out := make([]any, n)
		for i := range out {
			out[i] = e
		}
		return out, true
	case "structure":
		out := map[string]any{}
		for _, r := range s.Required {
			v, ok := g.valid(s.Members[r].Shape, depth+1)
			if !ok {
				return nil, false
			}
			out[r] = v
		}
		return out, true
	}
	return nil, false
}

func (g *caseGen) stringOK(s modelShape, v string) bool {
	n := len(utf16.Encode([]rune(v)))
	if s.Min != nil && n < int(*s.Min) || s.Max != nil && n > int(*s.Max) {
		return false
	}
	if s.Pattern == "" {
		return true
	}
	ok, err := awsquery.PatternMatches(s.Pattern, v)
	return err == nil && ok
}

// cases returns the inputCases of shape: its own constraints (a scalar's
// length, range and pattern, a list's length) and, down to three levels,
// those of its list elements and structure members.
func (g *caseGen) cases(shape string, depth int) []inputCase {
	s := g.m.Shapes[shape]
	var out []inputCase
	switch s.Type {
	case "string", "integer", "long":
		if len(s.Enum) > 0 && g.enums {
			out = append(out, inputCase{value: "NotAnEnumValue", constraint: "Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]"})
		}
		for _, v := range violations(g.t, s) {
			var value any = v.value
			if s.Type != "string" {
				value, _ = strconv.Atoi(v.value)
			}
			out = append(out, inputCase{value: value, constraint: v.constraint})
		}
	case "list":
		if depth > 2 {
			return nil
		}
		e, ok := g.valid(s.Member.Shape, depth+1)
		if ok && s.Max != nil && *s.Max+1 <= maxListCase {
			list := make([]any, int(*s.Max)+1)
			for i := range list {
				list[i] = e
			}
			out = append(out, inputCase{value: list, constraint: fmt.Sprintf("Member must have length less than or equal to %d", int(*s.Max))})
		}
		if ok && s.Min != nil && *s.Min > 0 {
			list := make([]any, int(*s.Min)-1)
			for i := range list {
				list[i] = e
			}
			out = append(out, inputCase{value: list, constraint: fmt.Sprintf("Member must have length greater than or equal to %d", int(*s.Min))})
		}
		for _, c := range g.cases(s.Member.Shape, depth+1) {
			if me := g.m.Shapes[s.Member.Shape]; g.listEnumAtList && len(me.Enum) > 0 && c.path == "" && strings.HasPrefix(c.constraint, "Member must satisfy enum") {
				// IAM names a list of enums whole: "Value '[x]' at 'filter'
				// failed to satisfy constraint: Member must satisfy
				// constraint: [Member must satisfy enum value set: [...]]".
				out = append(out, inputCase{value: []any{c.value}, constraint: "Member must satisfy constraint: [" + c.constraint + "]"})
				continue
			}
			list := []any{c.value}
			if s.Min != nil {
				if !ok && *s.Min > 1 {
					continue
				}
				for len(list) < int(*s.Min) {
					list = append(list, e)
				}
			}
			out = append(out, inputCase{value: list, path: ".1.member" + c.path, constraint: c.constraint})
		}
	case "structure":
		if depth > 2 {
			return nil
		}
		names := make([]string, 0, len(s.Members))
		for name := range s.Members {
			names = append(names, name)
		}
		slices.Sort(names)
	members:
		for _, name := range names {
			for _, c := range g.cases(s.Members[name].Shape, depth+1) {
				v := map[string]any{name: c.value}
				for _, r := range s.Required {
					if r == name {
						continue
					}
					rv, ok := g.valid(s.Members[r].Shape, depth+1)
					if !ok {
						continue members
					}
					v[r] = rv
				}
				out = append(out, inputCase{value: v, path: "." + lowerFirstASCII(name) + c.path, constraint: c.constraint})
			}
		}
	}
	return out
}

func lowerFirstASCII(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// flattenQuery writes v as Query parameters under prefix: lists as
// prefix.member.N, structures as prefix.Name, an empty list as "prefix=".
func flattenQuery(form url.Values, prefix string, v any) {
	switch x := v.(type) {
	case string:
		form.Set(prefix, x)
	case int:
		form.Set(prefix, strconv.Itoa(x))
	case bool:
		form.Set(prefix, strconv.FormatBool(x))
	case []any:
		if len(x) == 0 {
			form.Set(prefix, "")
		}
		for i, e := range x {
			flattenQuery(form, prefix+".member."+strconv.Itoa(i+1), e)
		}
	case map[string]any:
		for k, e := range x {
			flattenQuery(form, prefix+"."+k, e)
		}
	}
}

// queryLength is the length of v written as Query parameters.
func queryLength(v any) int {
	form := url.Values{}
	flattenQuery(form, "X", v)
	return len(form.Encode())
}

// TestNestedInputConstraintsAgainstTheModels extends
// TestInputConstraintsAgainstTheModels to what it does not drive: for
// every routed IAM and STS operation, each list input member's length,
// each list element's constraints (a string element's, or each member of a
// structure element: Tags.member.1.Key) and each member of a structure
// input, one request each, and requires AWS's ValidationError naming the
// element as AWS does ('tags.1.member.key') before any semantic check.
// Top-level scalars are TestInputConstraintsAgainstTheModels'. The count
// and the time taken are in the log.
func TestNestedInputConstraintsAgainstTheModels(t *testing.T) {
	started := time.Now()
	data := botocoreData(t)
	s := benchServer(t)
	h := s.Handler()
	routed := routedActions(s)
	checked := 0
	for _, svc := range []struct{ name, version string }{{"iam", "2010-05-08"}, {"sts", "2011-06-15"}} {
		m := readModel(t, data, svc.name, svc.version)
		g := &caseGen{t: t, m: m, enums: true, listEnumAtList: true}
		for _, op := range sortedOps(m) {
			o := m.Operations[op]
			if !routed[svc.name][op] || o.Input == nil {
				continue
			}
			in := m.Shapes[o.Input.Shape]
			for _, name := range sortedMembers(in) {
				shape := in.Members[name].Shape
				if k := m.Shapes[shape].Type; k != "list" && k != "structure" {
					continue
				}
				for _, c := range g.cases(shape, 1) {
					if queryLength(c.value) >= config.DefaultMaxBodyBytes || modelDrift[svc.name+" "+op+" "+name+c.path+": "+c.constraint] {
						continue
					}
					checked++
					form := url.Values{"Action": {op}, "Version": {svc.version}}
					flattenQuery(form, name, c.value)
					req, _ := signedRequest(t, svc.name, benchRootKey, benchRootSec, form)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					var e struct {
						Code    string `xml:"Error>Code"`
						Message string `xml:"Error>Message"`
					}
					_ = xmlUnmarshal(rec.Body.Bytes(), &e)
					path := "'" + lowerFirstASCII(name) + c.path + "'"
					if rec.Code != 400 || e.Code != "ValidationError" || !strings.Contains(e.Message, path+" failed to satisfy constraint: "+c.constraint) {
						t.Errorf("%s %s %s%s: %d %s %q; want ValidationError at %s: %s", svc.name, op, name, c.path, rec.Code, e.Code, shorten(e.Message), path, c.constraint)
					}
				}
			}
		}
	}
	t.Logf("%d list and nested constraint violations sent in %v", checked, time.Since(started).Round(time.Millisecond))
}

// orgReason is the InvalidInputException Reason Organizations answers for
// a broken constraint.
func orgReason(constraint string) string {
	switch {
	case strings.HasPrefix(constraint, "Member must have length greater"):
		return "MIN_LENGTH_EXCEEDED"
	case strings.HasPrefix(constraint, "Member must have length less"):
		return "MAX_LENGTH_EXCEEDED"
	case strings.HasPrefix(constraint, "Member must have value greater"):
		return "MIN_VALUE_EXCEEDED"
	case strings.HasPrefix(constraint, "Member must have value less"):
		return "MAX_VALUE_EXCEEDED"
	case strings.HasPrefix(constraint, "Member must satisfy regular expression pattern"):
		return "INVALID_PATTERN"
	case strings.HasPrefix(constraint, "Member must satisfy enum value set"):
		return "INVALID_ENUM"
	}
	return "?"
}

// TestOrganizationsInputConstraintsAgainstTheModels sends, for every
// Organizations operation of the botocore model, one JSON request per
// length, range and pattern constraint of each input member, of each list
// element and of each member of a structure (a Tag's Key, a
// HandshakeParty's Id), with the operation's other required members valid,
// and requires Organizations' answer: 400 InvalidInputException with the
// constraint's Reason (MAX_LENGTH_EXCEEDED, INVALID_PATTERN, ...) before
// any semantic check — on a deployment that has no organization, which
// every operation but CreateOrganization would answer with
// AWSOrganizationsNotInUseException. The count and the time taken are in
// the log.
func TestOrganizationsInputConstraintsAgainstTheModels(t *testing.T) {
	started := time.Now()
	data := botocoreData(t)
	s := benchServer(t)
	h := s.Handler()
	routed := routedActions(s)
	m := readModel(t, data, "organizations", "2016-11-28")
	g := &caseGen{t: t, m: m, enums: true}
	checked := 0
	for _, op := range sortedOps(m) {
		o := m.Operations[op]
		if !routed["organizations"][op] || o.Input == nil {
			continue
		}
		in := m.Shapes[o.Input.Shape]
		for _, name := range sortedMembers(in) {
			// The member under its own name, and in lower case: encoding/json
			// fills a field from a member named in another case, which must
			// be held to the same constraints.
			for _, c := range g.cases(in.Members[name].Shape, 1) {
				for _, sent := range []string{name, strings.ToLower(name)} {
					body := map[string]any{sent: c.value}
					complete := true
					for _, r := range in.Required {
						if r != name {
							v, ok := g.valid(in.Members[r].Shape, 1)
							complete = complete && ok
							body[r] = v
						}
					}
					if !complete {
						t.Errorf("%s: no valid value for the required members of %s", op, o.Input.Shape)
						continue
					}
					b, _ := json.Marshal(body)
					if len(b) >= config.DefaultMaxBodyBytes {
						continue
					}
					checked++
					req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(string(b)))
					req.Header.Set("Content-Type", "application/x-amz-json-1.1")
					req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128."+op)
					if err := sigv4.Sign(req, b, benchRootKey, benchRootSec, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
						t.Fatal(err)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					var e struct {
						Type    string `json:"__type"`
						Message string `json:"Message"`
						Reason  string `json:"Reason"`
					}
					_ = json.Unmarshal(rec.Body.Bytes(), &e)
					want := orgReason(c.constraint)
					if rec.Code != 400 || !strings.HasSuffix(e.Type, "InvalidInputException") || e.Reason != want {
						t.Errorf("%s %s%s (%s): %d %s %s %q; want InvalidInputException %s", op, sent, c.path, c.constraint, rec.Code, e.Type, e.Reason, shorten(e.Message), want)
					}
				}
			}
		}
	}
	t.Logf("%d Organizations constraint violations sent in %v", checked, time.Since(started).Round(time.Millisecond))
}

func routedActions(s *Server) map[string]map[string]bool {
	routed := map[string]map[string]bool{}
	for _, api := range s.pipeline.APIs() {
		if routed[api.Name] == nil {
			routed[api.Name] = map[string]bool{}
		}
		for action := range api.Routes {
			routed[api.Name][action] = true
		}
	}
	return routed
}

func sortedOps(m *serviceModel) []string {
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

func sortedMembers(s modelShape) []string {
	out := make([]string, 0, len(s.Members))
	for name := range s.Members {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }
