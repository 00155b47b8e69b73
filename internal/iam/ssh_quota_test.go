package iam_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

// TestSSHPublicKeyQuotaConcurrent: concurrent uploads that each see room
// under the quota of five never store more than five together (the quota
// was checked before the insert, outside it: twelve concurrent uploads
// stored up to twelve keys).
func TestSSHPublicKeyQuotaConcurrent(t *testing.T) {
	e := newEnv(t)
	e.user("racer", "/")
	const tries = 12
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		uploaded, exceeded int
	)
	for range tries {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		wg.Go(func() {
			_, err := e.svc.UploadSSHPublicKey(e.ctx, e.rootA, &iam.UploadSSHPublicKeyInput{UserName: "racer", SSHPublicKeyBody: body})
			mu.Lock()
			defer mu.Unlock()
			var ae *apierr.Error
			switch {
			case err == nil:
				uploaded++
			case errors.As(err, &ae) && ae.Code == apierr.LimitExceeded:
				exceeded++
			default:
				t.Errorf("upload: %v", err)
			}
		})
	}
	wg.Wait()
	list, err := e.svc.ListSSHPublicKeys(e.ctx, e.rootA, &iam.ListSSHPublicKeysInput{UserName: "racer"})
	if err != nil {
		t.Fatal(err)
	}
	if uploaded != 5 || exceeded != tries-5 || len(list.SSHPublicKeys) != 5 {
		t.Fatalf("%d uploaded, %d refused, %d stored; want 5, %d, 5", uploaded, exceeded, len(list.SSHPublicKeys), tries-5)
	}
}
