package policy

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKinds(t *testing.T) {
	t.Parallel()
	stmt := func(extra string) string {
		return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"` + extra + `}}`
	}
	tests := []struct {
		name string
		kind Kind
		doc  string
		want string // "" = valid
	}{
		{"identity with principal", Identity, stmt(`,"Principal":"*"`), msgPrincipal},
		{"boundary with principal", Boundary, stmt(`,"Principal":{"AWS":"*"}`), msgPrincipal},
		{"session with principal", Session, stmt(`,"Principal":"*"`), msgPrincipal},
		{"scp with NotPrincipal", SCP, stmt(`,"NotPrincipal":{"AWS":"111122223333"}`), msgPrincipal},
		{"scp with conditions and NotAction", SCP, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}}`, ""},
		{"resource needs principal", Resource, stmt(""), msgMissingPrinc},
		{"resource with principal", Resource, stmt(`,"Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/R","AROAEXAMPLEID000000"]}`), ""},
		{"resource 2008 version", Resource, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`, ""},
		{"trust needs principal", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, msgMissingPrinc},
		{"trust without resource", Trust, trustDoc(`{"Service":"ec2.amazonaws.com"}`), ""},
		{"trust with resource", Trust, stmt(`,"Principal":"*"`), "Has prohibited field Resource"},
		{"trust with NotPrincipal", Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`, "Has prohibited field NotPrincipal"},
		{"identity missing version", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, msgVersion},
		{"partial wildcard principal", Resource, stmt(`,"Principal":{"AWS":"arn:aws:iam::111122223333:user/a*"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/a*"`},
		{"group principal", Resource, stmt(`,"Principal":{"AWS":"arn:aws:iam::111122223333:group/g"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:group/g"`},
		{"bad principal key", Resource, stmt(`,"Principal":{"Users":"x"}`), msgSyntax},
		{"duplicate key", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}}`, msgSyntax},
		{"unknown element", Identity, stmt(`,"Foo":"bar"`), msgSyntax},
		{"unknown operator fails closed", Identity, stmt(`,"Condition":{"StringEqualz":{"aws:username":"a"}}`), msgSyntax},
		{"Null with IfExists", Identity, stmt(`,"Condition":{"NullIfExists":{"aws:username":"true"}}`), msgSyntax},
		{"unparseable number", Identity, stmt(`,"Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}`), msgSyntax},
		{"unparseable CIDR", Identity, stmt(`,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), msgSyntax},
		{"unparseable date", Identity, stmt(`,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}`), msgLegacy},
		{"bad bool", Identity, stmt(`,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), msgSyntax},
		{"trailing data", Identity, stmt("") + "x", msgSyntax},
		{"control character", Identity, stmt("") + "\x01", msgSyntax},
		{"non-latin1 character", Identity, `{"Version":"2012-10-17","Statement":{"Sid":"Ā","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, msgSyntax},
		{"session too large", Session, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 2100) + `"}}`, "Cannot exceed quota for PolicySize: 2048"},
		{"managed with principal", Managed, stmt(`,"Principal":"*"`), msgPrincipal},
		{"managed missing version", Managed, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, msgVersion},
		// A managed policy keeps its own quota whatever it is used as,
		// session policy included.
		{"managed over the session quota", Managed, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 5000) + `"}}`, ""},
		{"managed too large", Managed, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 6100) + `"}}`, "Cannot exceed quota for PolicySize: 6144"},
		{"whitespace not counted", Session, `{"Version":"2012-10-17",` + strings.Repeat(" ", 3000) + `"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.kind, tt.doc)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse = %v, want valid", err)
				}
				return
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse = %v, want *Error %q", err, tt.want)
			}
			if diff := cmp.Diff(tt.want, perr.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKindStrings(t *testing.T) {
	t.Parallel()
	for k := Identity; k <= Managed; k++ {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if _, ok := ParseKind("nope"); ok {
		t.Error("ParseKind accepted nope")
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	doc := allowDoc("s3:*", "*")
	// Room for two of these documents' policies, not three.
	pol := mustParse(t, Identity, doc)
	cost := pol.Size() + pol.Shape().Size() + shapeRefBytes + cacheEntryBytes
	c := NewCache(2*cost + cost/2)
	p1, err := c.Compile(Identity, doc)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.Compile(Identity, doc)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("same document compiled twice")
	}
	p3, err := c.Compile(Boundary, doc)
	if err != nil {
		t.Fatal(err)
	}
	if p3 == p1 || p3.Kind() != Boundary {
		t.Error("kind is not part of the key")
	}
	mustCompile := func(k Kind, doc string) {
		t.Helper()
		if _, err := c.Compile(k, doc); err != nil {
			t.Fatal(err)
		}
	}
	mustCompile(Identity, doc)                    // most recently used again
	mustCompile(Identity, allowDoc("ec2:*", "*")) // evicts the least recently used (boundary)
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	if p, _ := c.Compile(Identity, doc); p != p1 {
		t.Error("recently used entry was evicted")
	}
	if _, err := c.Compile(Identity, "{"); err == nil {
		t.Error("invalid document compiled")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if _, err := c.Compile(Identity, allowDoc("s3:*", "arn:aws:s3:::"+strings.Repeat("x", j%5))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}
