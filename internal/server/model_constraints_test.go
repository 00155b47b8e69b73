package server

import (
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/config"
)

// serviceModel is the part of a botocore service model the conformance
// tests read.
type serviceModel struct {
	Operations map[string]struct {
		Input *struct {
			Shape string `json:"shape"`
		} `json:"input"`
		Output *struct {
			Shape string `json:"shape"`
		} `json:"output"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
	lists  map[string]string     // list shape -> member shape
}

type modelShape struct {
	Type     string   `json:"type"`
	Min      *float64 `json:"min"`
	Max      *float64 `json:"max"`
	Pattern  string   `json:"pattern"`
	Enum     []string `json:"enum"`
	Required []string `json:"required"`
	Members  map[string]struct {
		Shape string `json:"shape"`
	} `json:"members"`
	Member *struct {
		Shape string `json:"shape"`
	} `json:"member"`
}

func readModel(t *testing.T, data, service, version string) *serviceModel {
	t.Helper()
	dir := filepath.Join(data, service, version)
	var r io.Reader
	if f, err := os.Open(filepath.Join(dir, "service-2.json")); err == nil {
		defer f.Close()
		r = f
	} else if f, err := os.Open(filepath.Join(dir, "service-2.json.gz")); err == nil {
		defer f.Close()
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Fatalf("no model for %s in %s", service, dir)
	}
	var m serviceModel
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatalf("%s model: %v", service, err)
	}
	m.lists = map[string]string{}
	for name, s := range m.Shapes {
		if s.Member != nil {
			m.lists[name] = s.Member.Shape
		}
	}
	return &m
}

// modelDrift are constraints of older models (Debian's botocore) that AWS
// has since dropped and the server follows the newer: AssumeRole's Policy
// became unrestrictedSessionPolicyDocumentType (no max) in 2023.
var modelDrift = map[string]bool{
	"sts AssumeRole Policy: Member must have length less than or equal to 2048": true,
}

// violation is one input that breaks one constraint of one member, and
// the constraint text AWS's ValidationError names for it.
type violation struct {
	value      string
	constraint string
}

// violations returns the values that break each length, range and pattern
// constraint of a scalar shape.
func violations(t *testing.T, s modelShape) []violation {
	var out []violation
	switch s.Type {
	case "string":
		if s.Min != nil && *s.Min > 0 {
			out = append(out, violation{strings.Repeat("a", int(*s.Min)-1), fmt.Sprintf("Member must have length greater than or equal to %d", int(*s.Min))})
		}
		if s.Max != nil {
			out = append(out, violation{strings.Repeat("a", int(*s.Max)+1), fmt.Sprintf("Member must have length less than or equal to %d", int(*s.Max))})
		}
		if s.Pattern != "" {
			n := 1
			if s.Min != nil && *s.Min > 1 {
				n = int(*s.Min)
			}
			for _, c := range []string{"!", " ", "\x01", "\uffff"} {
				v := strings.Repeat(c, n)
				ok, err := awsquery.PatternMatches(s.Pattern, v)
				if err != nil {
					// Java syntax RE2 lacks (lookahead): not driven.
					t.Logf("pattern %q not driven: %v", s.Pattern, err)
					break
				}
				if !ok {
					out = append(out, violation{v, "Member must satisfy regular expression pattern"})
					break
				}
			}
		}
	case "integer", "long":
		if s.Min != nil {
			out = append(out, violation{strconv.Itoa(int(*s.Min) - 1), fmt.Sprintf("Member must have value greater than or equal to %d", int(*s.Min))})
		}
		if s.Max != nil {
			out = append(out, violation{strconv.Itoa(int(*s.Max) + 1), fmt.Sprintf("Member must have value less than or equal to %d", int(*s.Max))})
		}
	}
	return out
}

// TestInputConstraintsAgainstTheModels sends, for every routed IAM and STS
// operation of the botocore models, one request per length, range,
// pattern and enum constraint of each top-level scalar input member, with only that
// member set to a value that breaks it, and requires AWS's answer: 400
// ValidationError naming the member (camelCase, as AWS does) and the
// constraint — before any semantic check, which would answer otherwise
// (NoSuchEntity, AccessDenied, ...). Lists and nested structures are not
// driven here. The count and the time taken are in the log.
func TestInputConstraintsAgainstTheModels(t *testing.T) {
	started := time.Now()
	data := botocoreData(t)
	s := benchServer(t)
	h := s.Handler()
	routed := routedActions(s)
	checked := 0
	for _, svc := range []struct{ name, version string }{{"iam", "2010-05-08"}, {"sts", "2011-06-15"}} {
		m := readModel(t, data, svc.name, svc.version)
		for _, op := range sortedOps(m) {
			o := m.Operations[op]
			if !routed[svc.name][op] || o.Input == nil {
				continue
			}
			in := m.Shapes[o.Input.Shape]
			members := make([]string, 0, len(in.Members))
			for name := range in.Members {
				members = append(members, name)
			}
			slices.Sort(members)
			for _, name := range members {
				shape := m.Shapes[in.Members[name].Shape]
				vs := violations(t, shape)
				if shape.Type == "string" && len(shape.Enum) > 0 {
					vs = append(vs, violation{"NotAnEnumValue", "Member must satisfy enum value set: [" + strings.Join(shape.Enum, ", ") + "]"})
				}
				for _, v := range vs {
					if len(v.value) >= config.DefaultMaxBodyBytes || modelDrift[svc.name+" "+op+" "+name+": "+v.constraint] {
						// Over the request body limit (RequestEntityTooLarge
						// first), or a constraint AWS has since dropped.
						continue
					}
					checked++
					form := url.Values{"Action": {op}, "Version": {svc.version}, name: {v.value}}
					req, _ := signedRequest(t, svc.name, benchRootKey, benchRootSec, form)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					var e struct {
						Code    string `xml:"Error>Code"`
						Message string `xml:"Error>Message"`
					}
					_ = xml.Unmarshal(rec.Body.Bytes(), &e)
					path := "'" + strings.ToLower(name[:1]) + name[1:] + "'"
					want := v.constraint
					if strings.HasPrefix(want, "Member must satisfy enum") {
						// The model's values in its order; AWS's newer
						// values (Expired) may follow.
						want = strings.TrimSuffix(want, "]")
					}
					if rec.Code != 400 || e.Code != "ValidationError" || !strings.Contains(e.Message, path+" failed to satisfy constraint: "+want) {
						short := v.value
						if len(short) > 20 {
							short = short[:20] + "..."
						}
						t.Errorf("%s %s %s=%q: %d %s %q; want ValidationError at %s: %s", svc.name, op, name, short, rec.Code, e.Code, e.Message, path, v.constraint)
					}
				}
			}
		}
	}
	t.Logf("%d constraint violations sent in %v", checked, time.Since(started).Round(time.Millisecond))
}

// xmlNode is a generic XML element.
type xmlNode struct {
	XMLName xml.Name
	Nodes   []xmlNode `xml:",any"`
	Text    string    `xml:",chardata"`
}

func (n *xmlNode) child(name string) *xmlNode {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == name {
			return &n.Nodes[i]
		}
	}
	return nil
}

// checkShape reports the members of shape that AWS always returns
// (required) and n lacks, recursing into structures and list members.
func checkShape(m *serviceModel, shape string, n *xmlNode, path string, depth int, bad *[]string) {
	s := m.Shapes[shape]
	if depth > 6 {
		return
	}
	switch s.Type {
	case "structure":
		for _, req := range s.Required {
			if n.child(req) == nil {
				*bad = append(*bad, path+"."+req)
			}
		}
		for name, mem := range s.Members {
			if c := n.child(name); c != nil {
				checkShape(m, mem.Shape, c, path+"."+name, depth+1, bad)
			}
		}
	case "list":
		for i := range n.Nodes {
			if n.Nodes[i].XMLName.Local == "member" {
				checkShape(m, listMember(m, shape), &n.Nodes[i], path+".member", depth+1, bad)
			}
		}
	}
}

// listMember returns the member shape of a list shape.
func listMember(m *serviceModel, shape string) string { return m.lists[shape] }

// awsOmits are members the model marks as always returned that AWS itself
// leaves out: GetUser of the root user has no UserName and no Path.
var awsOmits = map[string]bool{"GetUser.User.Path": true, "GetUser.User.UserName": true}

// forUser are the operations whose UserName is optional but which answer
// for a user only (the root has no SSH keys, signing certificates or
// service-specific credentials here): they are asked about the seeded user.
var forUser = map[string]bool{"ListSSHPublicKeys": true, "ListSigningCertificates": true, "ListServiceSpecificCredentials": true}

// seeded are the values of required input members that name what
// TestResponsesAgainstTheModels creates.
var seeded = map[string]string{
	"UserName": "alice", "GroupName": "devs", "RoleName": "app", "InstanceProfileName": "app",
	"PolicyArn": "arn:aws:iam::" + benchAccount + ":policy/read", "VersionId": "v1",
	"SerialNumber": "arn:aws:iam::" + benchAccount + ":mfa/spare",
}

// TestResponsesAgainstTheModels calls, on a server seeded with a user,
// group, role, managed policy, instance profile, MFA device and password
// policy, every routed IAM and STS Get and List operation whose required
// input names one of those, and parses each answer against the
// model's output shape: every member AWS always returns (the shape's
// required members, at every level) must be there, an empty list as an
// empty element.
func TestResponsesAgainstTheModels(t *testing.T) {
	started := time.Now()
	data := botocoreData(t)
	s := benchServer(t)
	h := s.Handler()
	do := func(service, version string, form url.Values) (int, []byte) {
		form.Set("Version", version)
		req, _ := signedRequest(t, service, benchRootKey, benchRootSec, form)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + benchAccount + `:root"},"Action":"sts:AssumeRole"}]}`
	for _, f := range []url.Values{
		{"Action": {"CreateUser"}, "UserName": {"alice"}},
		{"Action": {"CreateAccessKey"}, "UserName": {"alice"}},
		{"Action": {"CreateGroup"}, "GroupName": {"devs"}},
		{"Action": {"AddUserToGroup"}, "GroupName": {"devs"}, "UserName": {"alice"}},
		{"Action": {"CreateRole"}, "RoleName": {"app"}, "AssumeRolePolicyDocument": {trust}},
		{"Action": {"CreatePolicy"}, "PolicyName": {"read"}, "PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`}},
		{"Action": {"AttachRolePolicy"}, "RoleName": {"app"}, "PolicyArn": {"arn:aws:iam::" + benchAccount + ":policy/read"}},
		{"Action": {"CreateInstanceProfile"}, "InstanceProfileName": {"app"}},
		{"Action": {"AddRoleToInstanceProfile"}, "InstanceProfileName": {"app"}, "RoleName": {"app"}},
		{"Action": {"CreateVirtualMFADevice"}, "VirtualMFADeviceName": {"spare"}},
		{"Action": {"UpdateAccountPasswordPolicy"}, "MinimumPasswordLength": {"12"}},
		{"Action": {"CreateLoginProfile"}, "UserName": {"alice"}, "Password": {"Correct-Horse-9-battery"}},
		{"Action": {"GenerateCredentialReport"}},
	} {
		if code, body := do("iam", "2010-05-08", f); code != 200 {
			t.Fatalf("seed %s: %d %s", f.Get("Action"), code, body)
		}
	}
	routed := routedActions(s)
	checked := 0
	for _, svc := range []struct{ name, version string }{{"iam", "2010-05-08"}, {"sts", "2011-06-15"}} {
		m := readModel(t, data, svc.name, svc.version)
		for _, op := range sortedOps(m) {
			o := m.Operations[op]
			if !routed[svc.name][op] || o.Output == nil || !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") || op == "GetFederationToken" {
				continue
			}
			form := url.Values{"Action": {op}}
			if forUser[op] {
				form.Set("UserName", "alice")
			}
			if o.Input != nil {
				complete := true
				for _, req := range m.Shapes[o.Input.Shape].Required {
					v, ok := seeded[req]
					if !ok {
						complete = false
						break
					}
					form.Set(req, v)
				}
				if !complete {
					continue
				}
			}
			code, body := do(svc.name, svc.version, form)
			if code != 200 {
				t.Errorf("%s %s: %d %s", svc.name, op, code, body)
				continue
			}
			var root xmlNode
			if err := xml.Unmarshal(body, &root); err != nil {
				t.Errorf("%s %s: %v", svc.name, op, err)
				continue
			}
			res := root.child(op + "Result")
			if res == nil {
				t.Errorf("%s %s: no %sResult in %s", svc.name, op, op, body)
				continue
			}
			checked++
			var bad []string
			checkShape(m, o.Output.Shape, res, op, 0, &bad)
			bad = slices.DeleteFunc(bad, func(p string) bool { return awsOmits[p] })
			if len(bad) > 0 {
				t.Errorf("%s %s: missing %s in %s", svc.name, op, strings.Join(bad, ", "), body)
			}
		}
	}
	t.Logf("%d responses checked in %v", checked, time.Since(started).Round(time.Millisecond))
}
