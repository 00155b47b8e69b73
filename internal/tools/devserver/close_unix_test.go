//go:build unix

package devserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startShell starts script in sh as a Server whose Dir is a new directory,
// and waits until it has written dir/ready (its trap is set by then).
func startShell(t *testing.T, script string) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Dir: filepath.Join(dir, "server"), cmd: exec.Command("sh", "-c", script)}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.cmd.Dir = s.Dir
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(s.Dir, "ready")); err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell never became ready")
		}
	}
}

// TestCloseStopsGracefully: Close sends SIGTERM and waits for the process
// to exit on its own (a server then seals its audit file), then removes
// Dir.
func TestCloseStopsGracefully(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "terminated")
	s := startShell(t, `trap 'touch `+marker+`; exit 0' TERM; touch ready; while :; do sleep 0.05; done`)
	s.Close()
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the process did not get SIGTERM: %v", err)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d, want 0 (its own exit)", code)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("Dir not removed: %v", err)
	}
}

// TestCloseKillsAfterTimeout: a process that ignores SIGTERM is killed once
// stopTimeout has passed, and Close still returns.
func TestCloseKillsAfterTimeout(t *testing.T) {
	old := stopTimeout
	stopTimeout = 200 * time.Millisecond
	defer func() { stopTimeout = old }()
	s := startShell(t, `trap '' TERM; touch ready; while :; do sleep 0.05; done`)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d < stopTimeout {
		t.Fatalf("Close returned after %v, before the timeout", d)
	}
	if s.cmd.ProcessState == nil || s.cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("want the process killed (exit code -1), got %v", s.cmd.ProcessState)
	}
}
