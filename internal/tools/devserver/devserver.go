// Package devserver starts an opensts binary on a loopback port with a
// throwaway data directory and known root credentials, for the measuring
// tools (loadgen, exhaust), and reads the process's figures from /proc.
// Tests use their own harness (e2e).
package devserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Root credentials of every server started here (tools only, never
// production).
const (
	Account    = "123456789012"
	RootKey    = "AKIAOPENSTSDEVSERVER"
	RootSecret = "devserverRootSecretForMeasurementsOnly01"
)

// Server is a running opensts process.
type Server struct {
	Endpoint string    // http://127.0.0.1:PORT
	Dir      string    // a temporary directory the caller may use too; removed by Close
	Started  time.Time // just before the process started
	cmd      *exec.Cmd
}

// Start builds ./cmd/opensts when bin is "" (from the module root), starts
// it on a free loopback port and waits until it is healthy.
func Start(bin string) (*Server, error) { return StartWith(Options{Bin: bin}) }

// Options configure StartWith.
type Options struct {
	// Bin is the opensts binary; "" builds ./cmd/opensts (see Build).
	Bin string
	// DataDir is the data directory; "" means a new one under Dir. Close
	// removes Dir, never a DataDir given here.
	DataDir string
	// Args are more arguments of `opensts serve` (--store postgres).
	Args []string
	// Env is more environment (OPENSTS_MASTER_KEY, GOMEMLIMIT).
	Env []string
	// Audit, if set, passes --audit=true or --audit=false (the audit
	// trail's file sink, under the data directory) to serve; nil leaves
	// serve's default.
	Audit *bool
	// NoWait returns as soon as the process started; the caller waits for
	// it as it likes (a cold start is timed to the first answer).
	NoWait bool
}

// Build builds ./cmd/opensts (from the module root) into dir and returns
// the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "opensts")
	build := exec.Command("go", "build", "-o", bin, "./cmd/opensts")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return bin, nil
}

// StartWith starts opensts serve as o says, on a free loopback port.
func StartWith(o Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "opensts-devserver")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir}
	bin := o.Bin
	if bin == "" {
		if bin, err = Build(dir); err != nil {
			s.Close()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close() // the port is the server's now
	data := o.DataDir
	if data == "" {
		data = filepath.Join(dir, "data")
	}
	args := []string{"serve", "--listen", addr, "--data-dir", data}
	if o.Audit != nil {
		args = append(args, "--audit="+strconv.FormatBool(*o.Audit))
	}
	s.cmd = exec.Command(bin, append(args, o.Args...)...)
	s.cmd.Env = append(os.Environ(), "OPENSTS_ACCOUNT_ID="+Account, "OPENSTS_ROOT_ACCESS_KEY_ID="+RootKey, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+RootSecret)
	s.cmd.Env = append(s.cmd.Env, o.Env...)
	s.cmd.Stderr = io.Discard
	s.Endpoint = "http://" + addr
	s.Started = time.Now()
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		s.Close()
		return nil, err
	}
	if o.NoWait {
		return s, nil
	}
	if err := waitHealthy(s.Endpoint); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// stopTimeout is how long Close waits after SIGTERM before it kills.
var stopTimeout = 15 * time.Second

// Close stops the server as an operator would (SIGTERM, then a kill if it
// has not exited within stopTimeout) and removes its directory. A graceful stop
// seals the audit file and writes what the server deferred, so that the
// next start on a kept data directory (the scale tool's -data) is an
// ordinary one: a killed server left its last audit file open, and the
// next start's recovery read all of it, which the scale tool then measured
// as its cold start (0.4-0.8 s instead of tens of milliseconds).
func (s *Server) Close() {
	if s.cmd != nil {
		exited := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(exited) }()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-exited
		}
	}
	_ = os.RemoveAll(s.Dir)
}

func waitHealthy(endpoint string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(endpoint + "/healthz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s not healthy", endpoint)
}

// ProcCPU is the CPU time process pid has used so far, user and system,
// from /proc/PID/stat (clock ticks of 10 ms).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// ProcSyscalls returns the read and write system calls the process has
// made (syscr and syscw of /proc/PID/io: read, pread and readv, on files
// and sockets alike, and their write counterparts), which say where a
// request's cost went on a machine whose system calls are dear.
func ProcSyscalls(pid int) (reads, writes int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k != "syscr" && k != "syscw" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/io: %s: %w", pid, k, err)
		}
		if k == "syscr" {
			reads = n
		} else {
			writes = n
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("/proc/%d/io: no syscr and syscw", pid)
	}
	return reads, writes, nil
}

// ProcStatus returns a kB field of /proc/PID/status (VmRSS, VmHWM).
func ProcStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// Metrics reads the server's /metrics page and returns its unlabelled
// samples by name.
func (s *Server) Metrics() (map[string]float64, error) {
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m, nil
}
