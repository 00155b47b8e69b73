package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestFilterEscapesTheUsername(t *testing.T) {
	t.Parallel()
	c := Config{UserFilter: "(uid={username})"}
	for _, tc := range []struct{ name, username, want string }{
		{"plain", "alice", "(uid=alice)"},
		{"wildcard", "*", `(uid=\2a)`},
		{"close and reopen", "x)(uid=*", `(uid=x\29\28uid=\2a)`},
		{"backslash", `CORP\alice`, `(uid=CORP\5calice)`},
		{"nul", "a\x00b", `(uid=a\00b)`},
		{"non-ascii", "é", `(uid=\c3\a9)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Filter(c, tc.username); got != tc.want {
				t.Errorf("Filter(%q) = %q, want %q", tc.username, got, tc.want)
			}
		})
	}
	if got, want := Filter(Config{}, "*)("), `(|(sAMAccountName=\2a\29\28)(userPrincipalName=\2a\29\28))`; got != want {
		t.Errorf("default filter = %q, want %q", got, want)
	}
}

func TestValidUsername(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"alice": true, "alice@corp.example.com": true, `CORP\alice`: true, "*": true,
		"": false, "a\x00": false, "a\nb": false, "\xff": false, string(make([]byte, 257)): false,
		// Active Directory ignores white space around a name: other
		// spellings of alice are refused; inside a name it stays.
		"John Smith": true, " alice": false, "alice ": false, "alice  ": false, "\talice": false,
		"alice\u00a0": false, "\u3000alice": false, " ": false,
	} {
		if ValidUsername(name) != ok {
			t.Errorf("ValidUsername(%q) = %v", name, !ok)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	base := Config{URL: "ldaps://dc.example.com:636", UserSearchBase: "DC=example,DC=com", BindDN: "CN=svc,DC=example,DC=com"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"ldaps", func(*Config) {}, true},
		{"ldap without StartTLS", func(c *Config) { c.URL = "ldap://dc.example.com" }, false},
		{"ldap with StartTLS", func(c *Config) { c.URL, c.StartTLS = "ldap://dc.example.com", true }, true},
		{"ldap insecure allowed", func(c *Config) { c.URL, c.AllowInsecure = "ldap://dc.example.com", true }, true},
		{"StartTLS on ldaps", func(c *Config) { c.StartTLS = true }, false},
		{"http", func(c *Config) { c.URL = "http://dc.example.com" }, false},
		{"path", func(c *Config) { c.URL = "ldaps://dc.example.com/dc=x" }, false},
		{"no base", func(c *Config) { c.UserSearchBase = "" }, false},
		{"bad bind DN", func(c *Config) { c.BindDN = "not a dn" }, false},
		{"filter without username", func(c *Config) { c.UserFilter = "(uid=alice)" }, false},
		{"broken filter", func(c *Config) { c.UserFilter = "(uid={username}" }, false},
		{"group search", func(c *Config) { c.GroupMode, c.GroupFilter = GroupsSearch, "(memberUid={username})" }, true},
		{"group search without placeholder", func(c *Config) { c.GroupMode, c.GroupFilter = GroupsSearch, "(cn=x)" }, false},
		{"unknown group mode", func(c *Config) { c.GroupMode = "nested" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := base
			tc.edit(&c)
			if err := Check(c); (err == nil) != tc.ok {
				t.Errorf("Check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestAuthenticateRefusesBeforeAnyBind(t *testing.T) {
	t.Parallel()
	// No directory listens here: a refusal that reached the network would
	// be Unavailable, not Denied.
	c := Config{URL: "ldaps://127.0.0.1:1", UserSearchBase: "dc=x"}
	d := &Directory{DialTimeout: time.Second, Timeout: time.Second}
	for name, tc := range map[string]struct{ user, pass string }{
		"empty password": {"alice", ""},
		"nul in name":    {"alice\x00", "pw"},
		"empty name":     {"", "pw"},
	} {
		_, err := d.Authenticate(context.Background(), c, tc.user, tc.pass)
		if !IsDenied(err) {
			t.Errorf("%s: %v, want Denied", name, err)
		}
	}
	_, err := d.Authenticate(context.Background(), Config{URL: "ldap://127.0.0.1:1", UserSearchBase: "dc=x"}, "alice", "pw")
	var e *Error
	if !errors.As(err, &e) || e.Kind != Unavailable {
		t.Errorf("insecure URL: %v, want Unavailable", err)
	}
	start := time.Now()
	_, err = d.Authenticate(context.Background(), c, "alice", "pw")
	if !errors.As(err, &e) || e.Kind != Unavailable {
		t.Errorf("closed port: %v, want Unavailable", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestADReason(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"LDAP Result Code 49 \"Invalid Credentials\": 80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563": "account disabled",
		"... data 52e, v2580": "wrong password",
		"... data 775, v2580": "account locked",
		"... data 532, v2580": "password expired",
		"Invalid Credentials": "wrong password",
	} {
		if got := adReason(errors.New(msg)); got != want {
			t.Errorf("adReason(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		entry *goldap.Entry
		want  string
	}{
		{goldap.NewEntry("CN=Alice Smith,CN=Users,DC=x", map[string][]string{"sAMAccountName": {"alice"}, "userPrincipalName": {"alice@x"}}), "alice"},
		{goldap.NewEntry("uid=erin,ou=people,dc=x", map[string][]string{"uid": {"erin", "erin2"}}), "erin"},
		{goldap.NewEntry("cn=svc,dc=x", nil), "svc"},
		{goldap.NewEntry("", nil), ""},
	} {
		if got := CanonicalName(tc.entry); got != tc.want {
			t.Errorf("CanonicalName(%s) = %q, want %q", tc.entry.DN, got, tc.want)
		}
	}
}

// TestCheckEntryBoundsTheNames: a user entry whose DN or names are longer
// than MaxEntryName is refused before its bind (a directory answering a
// 1 MiB DN made a 2.8 MB response and a record of the same; attack review).
func TestCheckEntryBoundsTheNames(t *testing.T) {
	long := strings.Repeat("a", MaxEntryName+1)
	ok := goldap.NewEntry("uid=alice,ou=people,dc=example,dc=com", map[string][]string{"uid": {"alice"}, "userPrincipalName": {"alice@example.com"}})
	if err := checkEntry(ok); err != nil {
		t.Errorf("an ordinary entry: %v", err)
	}
	for name, e := range map[string]*goldap.Entry{
		"DN":                goldap.NewEntry("cn="+long+",dc=example,dc=com", nil),
		"uid":               goldap.NewEntry("cn=a,dc=example,dc=com", map[string][]string{"uid": {"alice", long}}),
		"userPrincipalName": goldap.NewEntry("cn=a,dc=example,dc=com", map[string][]string{"userPrincipalName": {long}}),
		"sAMAccountName":    goldap.NewEntry("cn=a,dc=example,dc=com", map[string][]string{"sAMAccountName": {long}}),
	} {
		if err := checkEntry(e); !IsDenied(err) {
			t.Errorf("%s of %d bytes: %v, want a denial", name, len(long), err)
		}
	}
}
