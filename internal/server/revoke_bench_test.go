package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// BenchmarkRevocationsAndRules compares AssumeRole (long-term key) and
// GetCallerIdentity (a role session, so the revocation set is consulted)
// with an active revocation set of 100,000 entries and the default
// detection rules, against the same server with neither, and with each
// alone (audit off in all, to measure these two alone). Besides ns/op it reports cpu-ns/op,
// the process's CPU time an operation, which other work on the machine
// disturbs less. Building the 100,000-entry set leaves garbage the
// collector is still marking when the timer starts, so runs of a few
// thousand operations charge it to them: run enough, and with serve's
// memory settings for serve's figure:
//
//	GOGC=1000 GOMEMLIMIT=80MiB go test ./internal/server -run '^$' -bench RevocationsAndRules -benchmem -cpu 1 -benchtime 200000x -count 3
func BenchmarkRevocationsAndRules(b *testing.B) {
	for _, call := range []string{"AssumeRole", "GetCallerIdentity"} {
		for _, mode := range []string{"neither", "revocations", "rules", "both"} {
			b.Run(call+"/"+mode, func(b *testing.B) {
				var srv *Server
				h, body, header := benchAssumeRole(b, func(c *config.Config) { c.Audit, c.Detect = false, mode == "both" || mode == "rules" })
				srv = lastBenchServer
				if mode == "both" || mode == "revocations" {
					now := time.Now()
					es := make([]session.Revocation, 100_000)
					for i := range es {
						es[i] = session.Revocation{ID: fmt.Sprint(i), Account: benchAccount, Kind: []string{session.RevokeSession, session.RevokePrincipal, session.RevokeRole}[i%3],
							Target: fmt.Sprintf("ASIA%016d", i), RoleID: fmt.Sprintf("AROA%016d", i), IssuedBefore: now, ExpiresAt: now.Add(time.Hour)}
					}
					srv.revs.set.Replace(es)
				}
				if call == "GetCallerIdentity" {
					// A role session's GetCallerIdentity, signed once.
					req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
					req.Header = header.Clone()
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					var c struct {
						ID     string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
						Secret string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
						Token  string `xml:"AssumeRoleResult>Credentials>SessionToken"`
					}
					if err := xml.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.Token == "" {
						b.Fatalf("%v %s", err, rec.Body)
					}
					form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
					body = []byte(form.Encode())
					r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
					if err := sigv4.Sign(r, body, c.ID, c.Secret, c.Token, "us-east-1", "sts", time.Now().UTC()); err != nil {
						b.Fatal(err)
					}
					header = r.Header
				}
				b.ReportAllocs()
				b.SetParallelism(16)
				cpu0 := processCPU()
				b.ResetTimer()
				defer func() {
					// The process's CPU time an operation: steadier than
					// ns/op on a machine whose cores other work shares.
					b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				}()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
						req.Header = header.Clone()
						w := &discardWriter{h: http.Header{}}
						h.ServeHTTP(w, req)
						if w.status != 200 {
							b.Errorf("%s: status %d", call, w.status)
							return
						}
					}
				})
			})
		}
	}
}
