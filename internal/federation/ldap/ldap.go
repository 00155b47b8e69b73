// Package ldap authenticates a user name and password against an LDAP
// directory or Active Directory, as AssumeRoleWithLDAPIdentity needs: a
// service bind, a search for exactly one user entry, a bind as that entry's
// DN with the password, and the user's groups (Active Directory's nested
// groups through LDAP_MATCHING_RULE_IN_CHAIN, or a group search for other
// directories).
//
// Every failure of the user's credentials is one Denied error whose Reason
// is for logs only (wrong password, unknown user, disabled or locked
// account, expired password): callers must answer them all alike. A
// directory that cannot be reached or answered in time is Unavailable.
// Passwords are never part of an error.
//
// It imports only the standard library and go-ldap.
package ldap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// Group lookup modes.
const (
	// GroupsMemberOf asks Active Directory for every group the user is a
	// member of, directly or through nested groups:
	// (member:1.2.840.113556.1.4.1941:=DN) under GroupSearchBase (or the
	// user search base).
	GroupsMemberOf = "memberOf"
	// GroupsSearch runs GroupFilter under GroupSearchBase with {dn} and
	// {username} replaced by the escaped user DN and the entry's canonical
	// name (Identity.Username, never the spelling the user typed).
	GroupsSearch = "search"
	// GroupsNone looks up no groups.
	GroupsNone = "none"
)

// Defaults that work for Active Directory.
const (
	DefaultUserFilter  = "(|(sAMAccountName={username})(userPrincipalName={username}))"
	DefaultGroupFilter = "(member={dn})"
	// MatchingRuleInChain is LDAP_MATCHING_RULE_IN_CHAIN.
	MatchingRuleInChain = "1.2.840.113556.1.4.1941"

	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
	// DefaultMaxGroups bounds the groups read for one user.
	DefaultMaxGroups = 1000
	// MaxUsernameLength bounds the user name, in bytes.
	MaxUsernameLength = 256
)

// Config is one directory: where it is and how to search it.
type Config struct {
	// URL is ldaps://host[:port] or ldap://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection before any bind.
	StartTLS bool
	// AllowInsecure permits binds over ldap:// without StartTLS.
	AllowInsecure bool
	// RootCAs verify the directory's certificate; nil means the system
	// roots.
	RootCAs *x509.CertPool

	BindDN, BindPassword string

	UserSearchBase string
	// UserFilter has {username}; "" means DefaultUserFilter.
	UserFilter string

	// GroupMode is GroupsMemberOf, GroupsSearch or GroupsNone ("" means
	// GroupsMemberOf).
	GroupMode       string
	GroupSearchBase string
	// GroupFilter has {dn} and/or {username} (the entry's canonical name);
	// "" means DefaultGroupFilter.
	GroupFilter string

	// BeforeBind, when set, is called with the DN of the entry the search
	// found, before the user bind: an error from it ends the
	// authentication as Denied (wrapping that error) with no bind as the
	// user (a per-entry throttle: the entry is the same whichever spelling
	// of the name found it).
	BeforeBind func(dn string) error
}

// Identity is an authenticated directory user.
type Identity struct {
	// Username is the directory's canonical name of the user: the entry's
	// sAMAccountName, else its (first) uid, else the value of its DN's
	// first RDN — never the spelling the user typed (which the directory
	// may match case-insensitively, or as a UPN).
	Username string
	// Given is the name the user gave (for logs).
	Given string
	// DN is the user entry's distinguished name, as the directory returned
	// it.
	DN string
	// UPN is the userPrincipalName ("" when the entry has none).
	UPN string
	// SAMAccountName is the entry's sAMAccountName, or its uid ("" when it
	// has neither).
	SAMAccountName string
	// Groups are the DNs of the user's groups (nested ones included for
	// GroupsMemberOf), in the directory's order, at most MaxGroups.
	Groups []string
}

// Kind classifies an Error.
type Kind int

// Error kinds.
const (
	// Denied: the user's credentials are not accepted (for any reason).
	Denied Kind = iota + 1
	// Unavailable: the directory could not be reached or did not answer
	// in time, or refused the service account.
	Unavailable
)

// Error is an authentication failure. Reason says why, for logs; it never
// holds a password.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "ldap: " + e.Reason + ": " + e.Err.Error()
	}
	return "ldap: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func denied(reason string, err error) error { return &Error{Kind: Denied, Reason: reason, Err: err} }
func unavailable(reason string, err error) error {
	return &Error{Kind: Unavailable, Reason: reason, Err: err}
}

// IsDenied reports whether err is a Denied Error.
func IsDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Denied
}

// Check validates a configuration as a provider is created: the URL, the
// transport rule, the filters and the DNs.
func Check(c Config) error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return errors.New("the URL must be ldaps://host[:port] or ldap://host[:port]")
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS {
			return errors.New("StartTLS applies to ldap:// URLs only")
		}
	case "ldap":
		if !c.StartTLS && !c.AllowInsecure {
			return errors.New("an ldap:// URL needs StartTLS, or AllowInsecure to bind over an unencrypted connection")
		}
	default:
		return errors.New("the URL must be ldaps://host[:port] or ldap://host[:port]")
	}
	if c.BindDN != "" {
		if _, err := goldap.ParseDN(c.BindDN); err != nil {
			return fmt.Errorf("the bind DN is not a DN: %w", err)
		}
	}
	if _, err := goldap.ParseDN(c.UserSearchBase); err != nil || c.UserSearchBase == "" {
		return errors.New("the user search base must be a DN")
	}
	uf := orDefault(c.UserFilter, DefaultUserFilter)
	if !strings.Contains(uf, "{username}") {
		return errors.New("the user filter must contain {username}")
	}
	if _, err := goldap.CompileFilter(expand(uf, "", "x")); err != nil {
		return fmt.Errorf("the user filter is not an LDAP filter: %w", err)
	}
	switch c.GroupMode {
	case "", GroupsMemberOf, GroupsNone:
	case GroupsSearch:
		gf := orDefault(c.GroupFilter, DefaultGroupFilter)
		if !strings.Contains(gf, "{dn}") && !strings.Contains(gf, "{username}") {
			return errors.New("the group filter must contain {dn} or {username}")
		}
		if _, err := goldap.CompileFilter(expand(gf, "cn=x", "x")); err != nil {
			return fmt.Errorf("the group filter is not an LDAP filter: %w", err)
		}
	default:
		return errors.New("the group mode must be memberOf, search or none")
	}
	if c.GroupSearchBase != "" {
		if _, err := goldap.ParseDN(c.GroupSearchBase); err != nil {
			return errors.New("the group search base must be a DN")
		}
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// expand replaces {dn} and {username} in a filter template with the
// escaped values (RFC 4515: *, (, ), \ and NUL, and every byte outside
// ASCII, become \XX), so no value can change the filter's structure.
func expand(template, dn, username string) string {
	return strings.NewReplacer("{dn}", goldap.EscapeFilter(dn), "{username}", goldap.EscapeFilter(username)).Replace(template)
}

// Filter is the user filter for username (exported for tests and tools).
func Filter(c Config, username string) string {
	return expand(orDefault(c.UserFilter, DefaultUserFilter), "", username)
}

// ValidUsername reports whether a user name may be sent to a directory:
// 1 to MaxUsernameLength bytes of valid UTF-8 without control characters
// (NUL included), and without leading or trailing white space (Active
// Directory ignores it, so " bob" and "bob " would be other spellings of
// bob).
func ValidUsername(name string) bool {
	if name == "" || len(name) > MaxUsernameLength || !utf8.ValidString(name) {
		return false
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Directory authenticates users. Its zero value uses the defaults; it is
// safe for concurrent use.
type Directory struct {
	// DialTimeout bounds connecting (TCP and TLS); Timeout bounds each
	// operation and, with DialTimeout, the whole authentication.
	DialTimeout, Timeout time.Duration
	// MaxGroups bounds the groups read for one user.
	MaxGroups int
	// Observe, if set, receives each authentication's outcome ("ok",
	// "denied": the directory refused the user; "error": it could not be
	// asked) and how long it took (metrics).
	Observe func(outcome string, took time.Duration)

	// failedBind is, per directory URL, a moving average of how long a
	// user bind that the directory refused took: an unknown user's decoy
	// bind is padded to it (a directory may refuse an entry it does not
	// hold faster than it checks a password and counts the failure).
	mu         sync.Mutex
	failedBind map[string]time.Duration
}

// maxBindPad bounds the padding of a decoy bind.
const maxBindPad = time.Second

// noteFailedBind adds one refused user bind's duration to url's average.
func (d *Directory) noteFailedBind(url string, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failedBind == nil {
		d.failedBind = map[string]time.Duration{}
	}
	if avg, ok := d.failedBind[url]; ok {
		took = avg + (took-avg)/8
	}
	d.failedBind[url] = min(took, maxBindPad)
}

// decoyBind binds with password as an entry that does not exist, when
// there is no user to bind as: it fails (no account is locked or touched),
// and it is padded to the time a refused user bind takes on this
// directory, so that an unknown user and a wrong password take about as
// long. Its result does not matter.
func (d *Directory) decoyBind(ctx context.Context, conn *goldap.Conn, c Config, password string) {
	begin := time.Now()
	_ = conn.Bind(decoyDN(c), password)
	d.mu.Lock()
	avg := d.failedBind[c.URL]
	d.mu.Unlock()
	if pad := avg - time.Since(begin); pad > 0 {
		t := time.NewTimer(pad)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// Authenticate checks username and password against the directory of c.
// An empty password is refused before any bind (an unauthenticated bind
// would succeed on many directories). It takes at most about DialTimeout +
// 5 × Timeout, and less when ctx ends first.
func (d *Directory) Authenticate(ctx context.Context, c Config, username, password string) (*Identity, error) {
	if d.Observe == nil {
		return d.authenticate(ctx, c, username, password)
	}
	begin := time.Now()
	id, err := d.authenticate(ctx, c, username, password)
	outcome := "ok"
	switch {
	case IsDenied(err):
		outcome = "denied"
	case err != nil:
		outcome = "error"
	}
	d.Observe(outcome, time.Since(begin))
	return id, err
}

func (d *Directory) authenticate(ctx context.Context, c Config, username, password string) (*Identity, error) {
	if !ValidUsername(username) {
		return nil, denied("invalid user name", nil)
	}
	if password == "" {
		return nil, denied("empty password", nil)
	}
	dialTimeout, timeout := d.DialTimeout, d.Timeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout+5*timeout)
	defer cancel()

	conn, err := d.dial(ctx, c, dialTimeout, timeout)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	// A directory that stalls is cut off when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
		return nil, unavailable("service bind", opErr(ctx, err))
	}
	entry, err := findUser(conn, c, username)
	if err != nil {
		if IsDenied(err) {
			// An unknown user costs a bind too, so that a wrong password
			// and an unknown user take about as long.
			d.decoyBind(ctx, conn, c, password)
		}
		return nil, opErr(ctx, err)
	}
	if err := checkEntry(entry); err != nil {
		d.decoyBind(ctx, conn, c, password)
		return nil, err
	}
	if c.BeforeBind != nil {
		if err := c.BeforeBind(entry.DN); err != nil {
			d.decoyBind(ctx, conn, c, password)
			return nil, denied("refused before the user bind", err)
		}
	}
	begin := time.Now()
	if err := conn.Bind(entry.DN, password); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			d.noteFailedBind(c.URL, time.Since(begin))
			return nil, denied(adReason(err), nil)
		}
		if ctx.Err() != nil || isNetwork(err) {
			return nil, unavailable("user bind", err)
		}
		return nil, denied("user bind refused", err)
	}
	id := &Identity{Username: CanonicalName(entry), Given: username, DN: entry.DN, UPN: entry.GetAttributeValue("userPrincipalName"),
		SAMAccountName: orDefault(entry.GetAttributeValue("sAMAccountName"), entry.GetAttributeValue("uid"))}
	if c.GroupMode == GroupsNone {
		return id, nil
	}
	// Groups are read as the service account: user entries often may not
	// search the directory.
	if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
		return nil, unavailable("service bind for groups", opErr(ctx, err))
	}
	// {username} is the entry's own name, not what was typed: a user filter
	// may find an entry by an attribute its user can set (mail), and
	// memberUid names members by uid.
	if id.Groups, err = d.groups(conn, c, entry.DN, id.Username); err != nil {
		return nil, unavailable("group search", opErr(ctx, err))
	}
	return id, nil
}

func (d *Directory) dial(ctx context.Context, c Config, dialTimeout, timeout time.Duration) (*goldap.Conn, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, unavailable("directory URL", err)
	}
	if u.Scheme == "ldap" && !c.StartTLS && !c.AllowInsecure {
		return nil, unavailable("refusing to bind over an unencrypted connection", nil)
	}
	host := u.Hostname()
	tc := &tls.Config{ServerName: host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{Timeout: dialTimeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := goldap.DialURL(c.URL, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, unavailable("connect", err)
	}
	conn.SetTimeout(timeout)
	if c.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			_ = conn.Close()
			return nil, unavailable("StartTLS", err)
		}
	}
	return conn, nil
}

var userAttributes = []string{"dn", "userPrincipalName", "sAMAccountName", "uid"}

// MaxEntryName bounds, in bytes, the user entry's DN and the names taken
// from it (userPrincipalName, sAMAccountName, uid): they become the
// session's subject, its token and the audit record. A directory (which an
// account's administrator chooses) that answers with a 1 MiB DN made a
// 2.8 MB response to a 220-byte request (attack review); Active
// Directory's own DNs are at most 255 characters a component.
const MaxEntryName = 2048

// checkEntry refuses a user entry whose DN or names are longer than
// MaxEntryName, before its password is sent.
func checkEntry(e *goldap.Entry) error {
	if len(e.DN) > MaxEntryName {
		return denied(fmt.Sprintf("the user entry's DN is longer than %d bytes", MaxEntryName), nil)
	}
	for _, a := range userAttributes[1:] {
		for _, v := range e.GetAttributeValues(a) {
			if len(v) > MaxEntryName {
				return denied(fmt.Sprintf("the user entry's %s is longer than %d bytes", a, MaxEntryName), nil)
			}
		}
	}
	return nil
}

// CanonicalName is the directory's name of a user entry: its
// sAMAccountName, else its first uid, else the value of its DN's first RDN,
// else the DN.
func CanonicalName(e *goldap.Entry) string {
	for _, a := range []string{"sAMAccountName", "uid"} {
		if v := e.GetAttributeValue(a); v != "" {
			return v
		}
	}
	if dn, err := goldap.ParseDN(e.DN); err == nil && len(dn.RDNs) > 0 && len(dn.RDNs[0].Attributes) > 0 && dn.RDNs[0].Attributes[0].Value != "" {
		return dn.RDNs[0].Attributes[0].Value
	}
	return e.DN
}

// decoyDN is an entry no directory holds (its last part is random), under
// the user search base.
func decoyDN(c Config) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cn=opensts-no-such-user-" + hex.EncodeToString(b[:]) + "," + c.UserSearchBase
}

// findUser returns the one entry the user filter matches; none or more than
// one is Denied.
func findUser(conn *goldap.Conn, c Config, username string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(c.UserSearchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		Filter(c, username), userAttributes, nil)
	res, err := conn.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil, unavailable("user search base does not exist", err)
		}
		return nil, unavailable("user search", err)
	}
	if res == nil || len(res.Entries) == 0 {
		return nil, denied("unknown user", nil)
	}
	if len(res.Entries) > 1 || err != nil {
		return nil, denied("user name matches more than one entry", nil)
	}
	return res.Entries[0], nil
}

func (d *Directory) groups(conn *goldap.Conn, c Config, dn, username string) ([]string, error) {
	base := orDefault(c.GroupSearchBase, c.UserSearchBase)
	var filter string
	switch c.GroupMode {
	case "", GroupsMemberOf:
		filter = "(member:" + MatchingRuleInChain + ":=" + goldap.EscapeFilter(dn) + ")"
	default:
		filter = expand(orDefault(c.GroupFilter, DefaultGroupFilter), dn, username)
	}
	limit := d.MaxGroups
	if limit <= 0 {
		limit = DefaultMaxGroups
	}
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit, 0, false, filter, []string{"dn"}, nil)
	res, err := conn.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, err
	}
	var out []string
	if res != nil {
		for _, e := range res.Entries {
			out = append(out, e.DN)
		}
	}
	return out, nil
}

// opErr turns an operation's failure into Unavailable, naming a timeout.
func opErr(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("directory did not answer in time: %w", err)
	}
	return err
}

func isNetwork(err error) bool {
	return goldap.IsErrorWithCode(err, goldap.ErrorNetwork) || goldap.IsErrorWithCode(err, goldap.LDAPResultTimeout)
}

// adReason reads Active Directory's sub-code from an invalidCredentials
// diagnostic ("... data 533, ..."), for logs.
func adReason(err error) string {
	msg := err.Error()
	i := strings.Index(msg, " data ")
	if i < 0 {
		return "wrong password"
	}
	code := msg[i+len(" data "):]
	if j := strings.IndexAny(code, ", "); j >= 0 {
		code = code[:j]
	}
	switch strings.ToLower(code) {
	case "525":
		return "unknown user"
	case "52e":
		return "wrong password"
	case "530":
		return "logon not permitted at this time"
	case "531":
		return "logon not permitted at this workstation"
	case "532":
		return "password expired"
	case "533":
		return "account disabled"
	case "701":
		return "account expired"
	case "773":
		return "password must be changed"
	case "775":
		return "account locked"
	}
	return "invalid credentials (" + code + ")"
}
