package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// dirProxy stands between OpenSTS and a real directory, so that a test can
// take the directory away and bring it back on the same address: up, it
// forwards connections; closed, nothing listens on its port (connection
// refused); reset, it accepts and closes at once (the TLS handshake fails);
// stalled, it accepts and never answers (a timeout).
type dirProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	mode   string
	conns  []net.Conn
}

func newDirProxy(t *testing.T, target string) *dirProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dirProxy{t: t, addr: ln.Addr().String(), target: target, ln: ln, mode: "up"}
	go p.serve(ln)
	t.Cleanup(func() { p.set("closed") })
	return p
}

// set switches the proxy to mode and cuts every connection it holds.
func (p *dirProxy) set(mode string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	switch {
	case mode == "closed" && p.ln != nil:
		_ = p.ln.Close()
		p.ln = nil
	case mode != "closed" && p.ln == nil:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.t.Fatalf("listening on %s again: %v", p.addr, err)
		}
		p.ln = ln
		go p.serve(ln)
	}
	p.mode = mode
}

func (p *dirProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == "reset" {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		if mode == "stalled" {
			continue
		}
		go func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			_, _ = io.Copy(c, up)
			_ = c.Close()
		}()
	}
}

// TestLDAPOutagesDoNotLock: a directory that goes away (its port closed,
// connections reset, a TLS certificate the provider does not trust, a
// directory that stops answering) fails each sign-in with the retryable
// IDPCommunicationError and counts towards no lockout, of the user or of
// the source address: after more tries than both limits (10 per user, 100
// per address) the user signs in as soon as the directory is back.
// Against Samba, through a proxy the test controls.
func TestLDAPOutagesDoNotLock(t *testing.T) {
	d := directory(t)
	e := start(t)
	proxy := newDirProxy(t, strings.TrimPrefix(d["SAMBA_URL"], "ldaps://"))
	p := sambaProvider(t, d, "flaky")
	p["Url"] = "ldaps://" + proxy.addr
	providerARN := createLDAPProvider(t, e, p)
	createRole(t, e, "Flaky", ldapTrust("flaky", ""))
	params := map[string]string{"LDAPUsername": "alice", "LDAPPassword": alicePassword, "RoleArn": "arn:aws:iam::" + testAccount + ":role/Flaky"}
	signIn := func(t *testing.T, what string) {
		t.Helper()
		if status, body, _ := e.assumeLDAP(t, params); status != http.StatusOK {
			t.Fatalf("alice %s: %d %s", what, status, body)
		}
	}
	outage := func(t *testing.T, tries int) {
		t.Helper()
		for i := range tries {
			status, body, _ := e.assumeLDAP(t, params)
			if status != http.StatusBadRequest || errCode(body) != "IDPCommunicationError" {
				t.Fatalf("try %d during the outage: %d %s", i+1, status, body)
			}
		}
	}
	signIn(t, "with the directory up")

	t.Run("port closed", func(t *testing.T) {
		defer proxy.set("up")
		proxy.set("closed")
		outage(t, 110)
		proxy.set("up")
		signIn(t, "after 110 tries against a closed port")
	})
	t.Run("connections reset", func(t *testing.T) {
		defer proxy.set("up")
		proxy.set("reset")
		outage(t, 110)
		proxy.set("up")
		signIn(t, "after 110 tries with connections reset")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		// The OpenLDAP fixture's CA did not sign Samba's certificate.
		if status, body := e.iamQuery(t, "UpdateLDAPProvider", map[string]string{"LDAPProviderArn": providerARN, "CACertificates": readFile(t, d["OPENLDAP_CA"])}); status != http.StatusOK {
			t.Fatalf("UpdateLDAPProvider: %d %s", status, body)
		}
		outage(t, 12)
		if status, body := e.iamQuery(t, "UpdateLDAPProvider", map[string]string{"LDAPProviderArn": providerARN, "CACertificates": readFile(t, d["SAMBA_CA"])}); status != http.StatusOK {
			t.Fatalf("UpdateLDAPProvider: %d %s", status, body)
		}
		signIn(t, "after 12 tries with a certificate the provider does not trust")
	})
	t.Run("stopped answering", func(t *testing.T) {
		defer proxy.set("up")
		// Each try waits for the dial timeout: four at once.
		proxy.set("stalled")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				status, body, _ := e.assumeLDAP(t, params)
				if status != http.StatusBadRequest || errCode(body) != "IDPCommunicationError" {
					t.Errorf("a try while the directory does not answer: %d %s", status, body)
				}
			})
		}
		wg.Wait()
		proxy.set("up")
		signIn(t, "after the directory answered again")
	})
	t.Run("wrong passwords still count", func(t *testing.T) {
		// Against the directory that is back: ten wrong passwords lock
		// bob out, and his right password is refused.
		bob := map[string]string{"LDAPUsername": "bob", "RoleArn": params["RoleArn"]}
		for range 10 {
			bob["LDAPPassword"] = "Wrong-Passw0rd!"
			if status, body, _ := e.assumeLDAP(t, bob); errCode(body) != "AccessDenied" {
				t.Fatalf("a wrong password: %d %s", status, body)
			}
		}
		bob["LDAPPassword"] = "Bob-Passw0rd!"
		if status, body, _ := e.assumeLDAP(t, bob); errCode(body) != "AccessDenied" {
			t.Fatalf("bob's right password after ten wrong ones: %d %s", status, body)
		}
	})
}

// TestLDAPSharedAcrossNodes runs two nodes on one PostgreSQL database
// against Samba: wrong passwords for bob on node A and on node B add up to
// one lockout (five on each are the ten of the limit), which then refuses
// bob's right password on both; a lockout started on A alone (ten wrong
// passwords for carol's name there) refuses on B. alice is not held back.
func TestLDAPSharedAcrossNodes(t *testing.T) {
	d := directory(t)
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn))
	b := start(t, withPostgres(dsn))
	createLDAPProvider(t, a, sambaProvider(t, d, "corp"))
	createRole(t, a, "Shared", ldapTrust("corp", ""))
	role := "arn:aws:iam::" + testAccount + ":role/Shared"
	try := func(node *env, user, password string) (int, string) {
		t.Helper()
		status, body, _ := node.assumeLDAP(t, map[string]string{"LDAPUsername": user, "LDAPPassword": password, "RoleArn": role})
		return status, body
	}
	// Both nodes see the provider and the role, and sign bob in.
	for name, node := range map[string]*env{"A": a, "B": b} {
		if status, body := try(node, "bob", "Bob-Passw0rd!"); status != http.StatusOK {
			t.Fatalf("bob on node %s: %d %s", name, status, body)
		}
	}
	for i := range 10 {
		node := a
		if i%2 == 1 {
			node = b
		}
		if status, body := try(node, "bob", "Wrong-Passw0rd!"); errCode(body) != "AccessDenied" {
			t.Fatalf("wrong password %d: %d %s", i+1, status, body)
		}
	}
	for name, node := range map[string]*env{"A": a, "B": b} {
		if status, body := try(node, "bob", "Bob-Passw0rd!"); errCode(body) != "AccessDenied" {
			t.Errorf("bob's right password on node %s after five wrong ones on each node: %d %s", name, status, body)
		}
	}
	// A lockout on A alone refuses on B.
	for i := range 10 {
		if status, body := try(a, "alice", "Wrong-Passw0rd!"); errCode(body) != "AccessDenied" {
			t.Fatalf("alice's wrong password %d on node A: %d %s", i+1, status, body)
		}
	}
	if status, body := try(b, "alice", alicePassword); errCode(body) != "AccessDenied" {
		t.Errorf("alice's right password on node B after a lockout on node A: %d %s", status, body)
	}
	// Another user is not held back, on either node.
	for name, node := range map[string]*env{"A": a, "B": b} {
		if status, body, _ := node.assumeLDAP(t, map[string]string{"LDAPUsername": "twin", "LDAPPassword": "Twin-Passw0rd!", "RoleArn": role}); status != http.StatusOK {
			t.Errorf("twin on node %s: %d %s", name, status, body)
		}
	}
}
