package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// testUserCredentials: a user's SSH keys, signing certificates and
// service-specific credentials are kept apart by kind, unique by id and by
// fingerprint per user and kind, follow a rename and go with the user.
func testUserCredentials(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAKEYS", "Keys")))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAOTHER", "other")))
	ssh := store.UserCredential{Account: acct1, UserName: "Keys", Kind: store.CredentialSSHKey, ID: "APKASSH1", Status: "Active", CreatedAt: t0,
		Body: "ssh-ed25519 AAAA", Fingerprint: "aa:bb"}
	ok(t, s.CreateUserCredential(ctx, ssh, 0))
	dup := ssh
	dup.ID = "APKASSH2"
	isErr(t, s.CreateUserCredential(ctx, dup, 0), store.ErrAlreadyExists, "the same key twice for one user")
	dup.UserName = "other"
	ok(t, s.CreateUserCredential(ctx, dup, 0)) // another user may hold it
	taken := ssh
	taken.Fingerprint = "cc:dd"
	isErr(t, s.CreateUserCredential(ctx, taken, 0), store.ErrAlreadyExists, "a taken id")
	missing := ssh
	missing.UserName, missing.ID = "nobody", "APKASSH3"
	isErr(t, s.CreateUserCredential(ctx, missing, 0), store.ErrNotFound, "a missing user")

	svc := store.UserCredential{Account: acct1, UserName: "keys", Kind: store.CredentialService, ID: "ACCASVC1", Status: "Active", CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(48 * time.Hour),
		Fingerprint: "ACCASVC1", ServiceName: "codecommit.amazonaws.com", ServiceUserName: "Keys-at-111", Secret: []byte{0, 1, 0xff}}
	ok(t, s.CreateUserCredential(ctx, svc, 0))
	svc.UserName = "Keys"
	got, err := s.GetUserCredential(ctx, acct1, "KEYS", store.CredentialService, "ACCASVC1")
	ok(t, err)
	same(t, "service credential", svc, got)
	_, err = s.GetUserCredential(ctx, acct1, "Keys", store.CredentialSSHKey, "ACCASVC1")
	isErr(t, err, store.ErrNotFound, "a credential of another kind")
	_, err = s.GetUserCredential(ctx, acct1, "other", store.CredentialService, "ACCASVC1")
	isErr(t, err, store.ErrNotFound, "a credential of another user")

	svc.Status, svc.Secret = "Inactive", []byte{9, 9}
	ok(t, s.UpdateUserCredential(ctx, svc))
	other := svc
	other.UserName = "other"
	isErr(t, s.UpdateUserCredential(ctx, other), store.ErrNotFound, "update another user's credential")

	ok(t, s.UpdateUser(ctx, store.User{Account: acct1, ID: "AIDAKEYS", Name: "Renamed", Path: "/", CreatedAt: t0}))
	list, err := s.ListUserCredentials(ctx, acct1, "renamed", store.CredentialService)
	ok(t, err)
	svc.UserName = "Renamed"
	same(t, "service credentials after rename", []store.UserCredential{svc}, list)
	list, err = s.ListUserCredentials(ctx, acct1, "Renamed", store.CredentialSigningCert)
	ok(t, err)
	same(t, "no signing certificates", 0, len(list))

	isErr(t, s.DeleteUserCredential(ctx, acct1, "other", store.CredentialSSHKey, "APKASSH1"), store.ErrNotFound, "delete another user's key")
	ok(t, s.DeleteUserCredential(ctx, acct1, "Renamed", store.CredentialSSHKey, "APKASSH1"))
	isErr(t, s.DeleteUserCredential(ctx, acct1, "Renamed", store.CredentialSSHKey, "APKASSH1"), store.ErrNotFound, "delete twice")

	// Deleting the user deletes its credentials; the id is free again.
	ok(t, s.DeleteUser(ctx, acct1, "Renamed"))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAKEYS2", "Keys")))
	svc.UserName = "Keys"
	ok(t, s.CreateUserCredential(ctx, svc, 0))
}

// testUserCredentialQuota: concurrent uploads that each would fit under
// the quota never exceed it together (the count and the insert are one
// step), per user, kind and service.
func testUserCredentialQuota(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const max, tries, rounds = 5, 16, 4
	key := func(u string, i int) store.UserCredential {
		return store.UserCredential{Account: acct1, UserName: u, Kind: store.CredentialSSHKey, ID: fmt.Sprintf("APKAQ%s%02d", u, i), Status: "Active",
			CreatedAt: t0, Body: "ssh-ed25519 AAAA", Fingerprint: fmt.Sprintf("%s:%02d", u, i)}
	}
	// Several rounds of two users racing: the window between a count and
	// its insert is short.
	for r := range rounds {
		users := []string{fmt.Sprintf("quota%da", r), fmt.Sprintf("quota%db", r)}
		for _, u := range users {
			ok(t, s.CreateUser(ctx, user(acct1, "AIDA"+strings.ToUpper(u), u)))
		}
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			created   = map[string]int{}
			conflicts = map[string]int{}
		)
		for i := range tries {
			for _, u := range users {
				wg.Go(func() {
					err := s.CreateUserCredential(ctx, key(u, i), max)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						created[u]++
					case errors.Is(err, store.ErrConflict):
						conflicts[u]++
					default:
						t.Errorf("create %s's key %d: %v", u, i, err)
					}
				})
			}
		}
		wg.Wait()
		for _, u := range users {
			list, err := s.ListUserCredentials(ctx, acct1, u, store.CredentialSSHKey)
			ok(t, err)
			if created[u] != max || conflicts[u] != tries-max || len(list) != max {
				t.Errorf("%s: %d created, %d refused, %d stored; want %d, %d, %d", u, created[u], conflicts[u], len(list), max, tries-max, max)
			}
		}
	}
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAQUOTA", "quota")))
	// Other kinds and services count apart; max 0 is no limit.
	cert := key("quota", 99)
	cert.Kind = store.CredentialSigningCert
	ok(t, s.CreateUserCredential(ctx, cert, 1))
	cert.ID, cert.Fingerprint = "APKAQCERT2", "cert2"
	isErr(t, s.CreateUserCredential(ctx, cert, 1), store.ErrConflict, "a second certificate over a quota of one")
	svc := store.UserCredential{Account: acct1, UserName: "quota", Kind: store.CredentialService, Status: "Active", CreatedAt: t0}
	for i, name := range []string{"a.amazonaws.com", "b.amazonaws.com", "a.amazonaws.com"} {
		svc.ID, svc.Fingerprint, svc.ServiceName = fmt.Sprintf("ACCAQ%d", i), fmt.Sprintf("ACCAQ%d", i), name
		err := s.CreateUserCredential(ctx, svc, 1)
		if i < 2 {
			ok(t, err)
		} else {
			isErr(t, err, store.ErrConflict, "a second credential of one service over a quota of one")
		}
	}
	extra := key("quota", 50)
	ok(t, s.CreateUserCredential(ctx, extra, 0))
}

// testServerCertificates: names unique case-insensitively per account,
// renames, tags, path-prefixed keyset pages, deletion.
func testServerCertificates(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	cert := func(id, path, name string) store.ServerCertificate {
		return store.ServerCertificate{Account: acct1, ID: id, Name: name, Path: path, Body: "-----BEGIN CERTIFICATE-----", PrivateKey: []byte{1, 2, 0},
			UploadedAt: t0, Expiration: t0.Add(24 * time.Hour)}
	}
	web := cert("ASCAWEB", "/web/", "Web")
	web.Chain, web.Tags = "chain", []store.Tag{{Key: "k", Value: "v"}}
	ok(t, s.CreateServerCertificate(ctx, web))
	isErr(t, s.CreateServerCertificate(ctx, cert("ASCAOTHER", "/", "WEB")), store.ErrAlreadyExists, "a name differing in case")
	isErr(t, s.CreateServerCertificate(ctx, cert("ASCAWEB", "/", "api")), store.ErrAlreadyExists, "a taken id")
	ok(t, s.CreateServerCertificate(ctx, cert("ASCAAPI", "/", "api")))
	ok(t, s.CreateServerCertificate(ctx, cert("ASCAB", "/web/", "b")))
	got, err := s.GetServerCertificate(ctx, acct1, "web")
	ok(t, err)
	same(t, "certificate", web, got)
	_, err = s.GetServerCertificate(ctx, acct2, "web")
	isErr(t, err, store.ErrNotFound, "another account's certificate")

	list, err := s.ListServerCertificates(ctx, acct1, store.ListOptions{PathPrefix: "/web/", Limit: 1})
	ok(t, err)
	same(t, "first page under /web/", []string{"b"}, names(list, certName))
	list, err = s.ListServerCertificates(ctx, acct1, store.ListOptions{PathPrefix: "/web/", After: "b"})
	ok(t, err)
	same(t, "second page under /web/", []string{"Web"}, names(list, certName))

	isErr(t, s.RenameServerCertificate(ctx, acct1, "web", "API", "/"), store.ErrAlreadyExists, "rename onto a taken name")
	isErr(t, s.RenameServerCertificate(ctx, acct1, "nope", "x", "/"), store.ErrNotFound, "rename a missing certificate")
	ok(t, s.RenameServerCertificate(ctx, acct1, "web", "site", "/site/"))
	ok(t, s.SetServerCertificateTags(ctx, acct1, "SITE", nil))
	got, err = s.GetServerCertificate(ctx, acct1, "site")
	ok(t, err)
	web.Name, web.Path, web.Tags = "site", "/site/", nil
	same(t, "renamed certificate", web, got)
	isErr(t, s.SetServerCertificateTags(ctx, acct1, "web", nil), store.ErrNotFound, "tag the old name")
	ok(t, s.DeleteServerCertificate(ctx, acct1, "Site"))
	isErr(t, s.DeleteServerCertificate(ctx, acct1, "site"), store.ErrNotFound, "delete twice")
}

func certName(c store.ServerCertificate) string { return c.Name }

// testIAMTasks: the latest credential report replaces the one before;
// deletion tasks are per account.
func testIAMTasks(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	_, err := s.GetCredentialReport(ctx, acct1)
	isErr(t, err, store.ErrNotFound, "no report yet")
	ok(t, s.PutCredentialReport(ctx, store.CredentialReport{Account: acct1, GeneratedAt: t0, Content: []byte("user,arn\n")}))
	r := store.CredentialReport{Account: acct1, GeneratedAt: t0.Add(time.Hour), Content: []byte("user,arn\n<root_account>\n")}
	ok(t, s.PutCredentialReport(ctx, r))
	got, err := s.GetCredentialReport(ctx, acct1)
	ok(t, err)
	same(t, "report", r, got)

	task := store.RoleDeletionTask{Account: acct1, ID: "task/aws-service-role/x/R/1", RoleName: "R", Status: "FAILED", Reason: "in use", CreatedAt: t0}
	ok(t, s.PutRoleDeletionTask(ctx, task))
	isErr(t, s.PutRoleDeletionTask(ctx, task), store.ErrAlreadyExists, "the same task twice")
	gotTask, err := s.GetRoleDeletionTask(ctx, acct1, task.ID)
	ok(t, err)
	same(t, "task", task, gotTask)
	_, err = s.GetRoleDeletionTask(ctx, acct2, task.ID)
	isErr(t, err, store.ErrNotFound, "another account's task")
}
