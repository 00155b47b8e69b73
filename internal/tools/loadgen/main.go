// Command loadgen measures AssumeRole throughput and memory of a real
// `opensts serve` process against a bare net/http handler that returns a
// body of the same size (the median size of AssumeRole's answers under
// concurrent load), both driven by wrk (or hey, with -tool hey) replaying one
// signed request over keep-alive connections on the same machine in the same
// run. It prints requests per second for both, their ratio, and the server's
// peak resident memory (VmHWM).
//
//	go run ./internal/tools/loadgen -connections 32 -duration 10s
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/tools/devserver"
)

func main() {
	conns := flag.Int("connections", 32, "keep-alive connections")
	threads := flag.Int("threads", 2, "wrk threads")
	duration := flag.Duration("duration", 10*time.Second, "duration of each run")
	rounds := flag.Int("rounds", 3, "alternating rounds of bare and AssumeRole")
	flag.BoolVar(&latency, "latency", false, "also print wrk's latency percentiles (p50, p75, p90, p99)")
	flag.StringVar(&tool, "tool", "wrk", "load generator: wrk (C) or hey (Go), both from Debian's packages")
	flag.StringVar(&binPath, "bin", "", "run this opensts binary instead of building one (to profile it with perf)")
	flag.BoolVar(&auditOn, "audit", false, "run opensts serve with --audit=true (the file sink under the data directory); false passes --audit=false")
	strict := flag.Bool("audit-strict", false, "with -audit-compare, the audited server runs with --audit-strict (each request waits for its event to be written)")
	compare := flag.Bool("audit-compare", false, "instead of bare against AssumeRole, run two servers, one with --audit=false and one with the default file sink, and alternate AssumeRole rounds between them")
	nodes := flag.Int("nodes", 0, "instead of bare against AssumeRole, run this many nodes on one PostgreSQL database (-database-url), each pinned to its own core with GOMAXPROCS=1, and alternate AssumeRole rounds on one node and on all of them")
	dbURL := flag.String("database-url", "", "the PostgreSQL database of -nodes (a DSN; give an empty database)")
	flag.Parse()
	if *nodes > 0 {
		if err := runNodes(*dbURL, *nodes, *conns, *duration, *rounds); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *compare {
		if err := runCompare(*conns, *threads, *duration, *rounds, *strict); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(*conns, *threads, *duration, *rounds); err != nil {
		log.Fatal(err)
	}
}

func run(conns, threads int, duration time.Duration, rounds int) error {
	if tool != "wrk" && tool != "hey" {
		return fmt.Errorf("-tool %q: want wrk or hey", tool)
	}
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("%s not found (apt-get install %s): %w", tool, tool, err)
	}
	t, err := startTarget(auditOn, conns)
	if err != nil {
		return err
	}
	defer t.srv.Close()
	srv, endpoint, size := t.srv, t.srv.Endpoint, t.size
	load := func(target string) (float64, error) {
		if target == endpoint+"/" {
			return t.load(conns, threads, duration)
		}
		return t.loadAt(target, conns, threads, duration)
	}

	payload := bytes.Repeat([]byte("x"), size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write(payload)
	})}
	go func() { _ = bare.Serve(ln) }()
	defer bare.Close()
	// The bare handler runs in this (otherwise idle) process, a separate
	// process from wrk, as opensts is.

	fmt.Printf("response size %d bytes, %d connections, %s (%d threads for wrk), %s per run\n", size, conns, tool, threads, duration)
	var bareSum, arSum, cpuSum float64
	for i := 0; i < rounds; i++ {
		b, err := load("http://" + ln.Addr().String() + "/")
		if err != nil {
			return err
		}
		cpu0, err := devserver.ProcCPU(srv.Pid())
		if err != nil {
			return err
		}
		a, err := load(endpoint + "/")
		if err != nil {
			return err
		}
		cpu1, err := devserver.ProcCPU(srv.Pid())
		if err != nil {
			return err
		}
		// The server's CPU time per AssumeRole answered: what a request
		// costs, steadier than the rate when other work shares the cores.
		perReq := float64((cpu1 - cpu0).Microseconds()) / (a * duration.Seconds())
		fmt.Printf("round %d: bare %.0f req/s, AssumeRole %.0f req/s, ratio %.1f%%, server CPU %.1f µs an AssumeRole\n", i+1, b, a, 100*a/b, perReq)
		bareSum += b
		arSum += a
		cpuSum += perReq
	}
	fmt.Printf("mean: bare %.0f req/s, AssumeRole %.0f req/s, ratio %.1f%%, server CPU %.1f µs an AssumeRole\n", bareSum/float64(rounds), arSum/float64(rounds), 100*arSum/bareSum, cpuSum/float64(rounds))
	hwm, err := devserver.ProcStatus(srv.Pid(), "VmHWM")
	if err != nil {
		return err
	}
	rss, err := devserver.ProcStatus(srv.Pid(), "VmRSS")
	if err != nil {
		return err
	}
	fmt.Printf("opensts peak resident memory (VmHWM): %.1f MiB, resident at the end (VmRSS): %.1f MiB, audit %v\n", float64(hwm)/1024, float64(rss)/1024, auditOn)
	return nil
}

// target is a running opensts server with one signed AssumeRole request
// ready to replay against it.
type target struct {
	srv      *devserver.Server
	header   http.Header
	script   string // wrk's Lua script
	bodyFile string // the request body, for hey
	size     int    // the median AssumeRole answer under load
}

func startTarget(audit bool, conns int, args ...string) (*target, error) {
	srv, err := devserver.StartWith(devserver.Options{Bin: binPath, Audit: &audit, Args: args})
	if err != nil {
		return nil, err
	}
	t := &target{srv: srv}
	body, header, err := setup(srv.Endpoint)
	if err == nil {
		t.header = header
		t.size, err = loadedSize(srv.Endpoint, body, header, conns)
	}
	if err == nil {
		t.script = filepath.Join(srv.Dir, "assume.lua")
		err = os.WriteFile(t.script, []byte(luaScript(body, header)), 0o600)
	}
	if err == nil {
		t.bodyFile = filepath.Join(srv.Dir, "assume.body")
		err = os.WriteFile(t.bodyFile, body, 0o600)
	}
	if err != nil {
		srv.Close()
		return nil, err
	}
	return t, nil
}

// load replays the AssumeRole request against the server.
func (t *target) load(conns, threads int, d time.Duration) (float64, error) {
	return t.loadAt(t.srv.Endpoint+"/", conns, threads, d)
}

// loadCPU is load, with the server's CPU time per request answered (what
// a request costs, steadier than the rate when other work shares the
// cores).
func (t *target) loadCPU(conns, threads int, d time.Duration) (float64, float64, error) {
	c0, err := devserver.ProcCPU(t.srv.Pid())
	if err != nil {
		return 0, 0, err
	}
	rate, err := t.load(conns, threads, d)
	if err != nil {
		return 0, 0, err
	}
	c1, err := devserver.ProcCPU(t.srv.Pid())
	if err != nil {
		return 0, 0, err
	}
	return rate, float64((c1 - c0).Microseconds()) / (rate * d.Seconds()), nil
}

// loadAt replays the same request (body and headers) against url.
func (t *target) loadAt(url string, conns, threads int, d time.Duration) (float64, error) {
	if tool == "hey" {
		return hey(url, t.bodyFile, t.header, conns, d)
	}
	return wrk(url, t.script, conns, threads, d)
}

// runCompare measures AssumeRole on two servers in the same run, one with
// auditing off and one with the default file sink, alternating rounds so
// that the machine's drift affects both alike.
func runCompare(conns, threads int, duration time.Duration, rounds int, strict bool) error {
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("%s not found (apt-get install %s): %w", tool, tool, err)
	}
	off, err := startTarget(false, conns)
	if err != nil {
		return err
	}
	defer off.srv.Close()
	var args []string
	if strict {
		args = []string{"--audit-strict"}
	}
	on, err := startTarget(true, conns, args...)
	if err != nil {
		return err
	}
	defer on.srv.Close()
	fmt.Printf("AssumeRole, audit off against the file sink (strict %v), %d connections, %s, %s per run\n", strict, conns, tool, duration)
	var offSum, onSum, offCPU, onCPU float64
	var ratios, cpuRatios []float64
	for i := 0; i < rounds; i++ {
		// Every other round runs the audited server first: on a machine
		// whose speed drifts (a VM whose host is busy, or not), the second
		// run of a round is not always the faster.
		first, second := off, on
		if i%2 == 1 {
			first, second = on, off
		}
		r1, c1, err := first.loadCPU(conns, threads, duration)
		if err != nil {
			return err
		}
		r2, c2, err := second.loadCPU(conns, threads, duration)
		if err != nil {
			return err
		}
		a, ca, b, cb := r1, c1, r2, c2
		if i%2 == 1 {
			a, ca, b, cb = r2, c2, r1, c1
		}
		fmt.Printf("round %d: audit off %.0f req/s (server CPU %.1f µs an AssumeRole), file sink %.0f req/s (%.1f µs), ratio %.1f%%, CPU ratio %.1f%%\n", i+1, a, ca, b, cb, 100*b/a, 100*ca/cb)
		offSum += a
		onSum += b
		offCPU += ca
		onCPU += cb
		ratios = append(ratios, 100*b/a)
		cpuRatios = append(cpuRatios, 100*ca/cb)
	}
	fmt.Printf("mean: audit off %.0f req/s, file sink %.0f req/s, ratio %.1f%%; server CPU an AssumeRole: off %.1f µs, file sink %.1f µs, ratio (off/on) %.1f%%\n",
		offSum/float64(rounds), onSum/float64(rounds), 100*onSum/offSum, offCPU/float64(rounds), onCPU/float64(rounds), 100*offCPU/onCPU)
	// The median of the rounds' ratios, and the middle half of them: a
	// round in which the machine changed speed between its two runs moves
	// the mean, not these.
	q, cq := quartiles(ratios), quartiles(cpuRatios)
	fmt.Printf("rounds' ratios: median %.1f%% (middle half %.1f-%.1f%%); CPU ratios: median %.1f%% (%.1f-%.1f%%)\n", q[1], q[0], q[2], cq[1], cq[0], cq[2])
	for _, x := range []struct {
		name string
		t    *target
	}{{"audit off", off}, {"file sink", on}} {
		hwm, err := devserver.ProcStatus(x.t.srv.Pid(), "VmHWM")
		if err != nil {
			return err
		}
		fmt.Printf("%s: peak resident memory (VmHWM) %.1f MiB\n", x.name, float64(hwm)/1024)
	}
	// A trail that fell behind and dropped events would make the audited
	// rate look better than it is: say how many it lost.
	m, err := on.srv.Metrics()
	if err != nil {
		return err
	}
	dropped, ok := m["opensts_audit_dropped_events_total"]
	if !ok {
		return errors.New("the audited server's /metrics has no opensts_audit_dropped_events_total")
	}
	fmt.Printf("file sink: audit events dropped %.0f\n", dropped)
	return nil
}

// setup creates a user with a key and a role trusting it, and returns one
// signed AssumeRole request (valid for the 15-minute skew window).
func setup(endpoint string) ([]byte, http.Header, error) {
	k, err := createCaller(endpoint, "load")
	if err != nil {
		return nil, nil, err
	}
	return signAssumeRole(endpoint, "load", k)
}

// createCaller creates user name with an access key and a role name-role
// trusting it, through endpoint.
func createCaller(endpoint, name string) (*iamtypes.AccessKey, error) {
	ctx := context.Background()
	c := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(devserver.RootKey, devserver.RootSecret, "")})
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return nil, err
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devserver.Account + `:user/` + name + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		return nil, err
	}
	return k.AccessKey, nil
}

// signAssumeRole signs an AssumeRole of name-role with k for endpoint (the
// signature covers the host: each node gets its own).
func signAssumeRole(endpoint, name string, k *iamtypes.AccessKey) ([]byte, http.Header, error) {
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + devserver.Account + ":role/" + name + "-role"}, "RoleSessionName": {"load"}, "DurationSeconds": {"900"}}
	body := []byte(form.Encode())
	req, _ := http.NewRequest("POST", endpoint+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.Sign(req, body, *k.AccessKeyId, *k.SecretAccessKey, "", "us-east-1", "sts", time.Now().UTC()); err != nil {
		return nil, nil, err
	}
	return body, req.Header, nil
}

// loadedSize is the median size of AssumeRole's response body under
// concurrent load, the size the bare handler answers with. (Tokens minted
// under load share batch signatures and carry an audit path, so they are
// longer than the token of a lone request.)
func loadedSize(endpoint string, body []byte, h http.Header, conns int) (int, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	sizes := make([]int, conns*20)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := w; i < len(sizes); i += conns {
				req, _ := http.NewRequest("POST", endpoint+"/", bytes.NewReader(body))
				req.Header = h.Clone()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("AssumeRole: %d %s", resp.StatusCode, out)
				}
				if err != nil {
					errs <- err
					return
				}
				sizes[i] = len(out)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	slices.Sort(sizes)
	return sizes[len(sizes)/2], nil
}

func luaScript(body []byte, h http.Header) string {
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %q\n", string(body))
	for k, v := range h {
		fmt.Fprintf(&b, "wrk.headers[%q] = %q\n", k, strings.Join(v, ","))
	}
	b.WriteString("done = function(summary, latency, requests)\n  local errs = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout\n  io.write(string.format(\"non2xx_or_errors %d\\n\", errs))\nend\n")
	return b.String()
}

// latency makes wrk report latency percentiles, printed with each run.
var latency bool

// wrkTimeout, if set, is wrk's request timeout (its default is 2 s).
var wrkTimeout time.Duration

// tool is the load generator.
var tool string

// auditOn runs the server with --audit.
var auditOn bool

// binPath, if set, is the opensts binary to run.
var binPath string

var heyRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var heyStatus = regexp.MustCompile(`\[(\d+)\]\s+(\d+) responses`)

// hey runs hey for d with conns workers (each a keep-alive connection) and
// returns requests per second; any non-200 answer or error fails the run.
func hey(target, bodyFile string, h http.Header, conns int, d time.Duration) (float64, error) {
	args := []string{"-z", d.String(), "-c", strconv.Itoa(conns), "-m", "POST", "-D", bodyFile, "-disable-compression"}
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") {
			args = append(args, "-T", strings.Join(v, ","))
			continue
		}
		args = append(args, "-H", k+": "+strings.Join(v, ","))
	}
	out, err := exec.Command("hey", append(args, target)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("hey: %v\n%s", err, out)
	}
	for _, m := range heyStatus.FindAllSubmatch(out, -1) {
		if string(m[1]) != "200" {
			return 0, fmt.Errorf("hey saw %s responses with status %s from %s:\n%s", m[2], m[1], target, out)
		}
	}
	if bytes.Contains(out, []byte("Error distribution")) {
		return 0, fmt.Errorf("hey saw errors against %s:\n%s", target, out)
	}
	m := heyRPS.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("hey output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

var pctRe = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+(\S+)`)

var rpsRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var errRe = regexp.MustCompile(`non2xx_or_errors (\d+)`)

func wrk(target, script string, conns, threads int, d time.Duration) (float64, error) {
	rate, _, err := wrkCPU(target, script, conns, threads, d)
	return rate, err
}

// wrkCPU is wrk, and also returns the CPU time wrk itself used.
func wrkCPU(target, script string, conns, threads int, d time.Duration) (float64, time.Duration, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", d.String(), "-s", script}
	if latency {
		args = append(args, "--latency")
	}
	if wrkTimeout > 0 {
		args = append(args, "--timeout", wrkTimeout.String())
	}
	cmd := exec.Command("wrk", append(args, target)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if latency {
		var ps []string
		for _, m := range pctRe.FindAllSubmatch(out, -1) {
			ps = append(ps, fmt.Sprintf("p%s %s", m[1], m[2]))
		}
		fmt.Printf("  %s: latency %s\n", target, strings.Join(ps, ", "))
	}
	m := rpsRe.FindSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("wrk output: %s", out)
	}
	if e := errRe.FindSubmatch(out); e != nil && string(e[1]) != "0" {
		return 0, 0, fmt.Errorf("wrk saw %s failed or non-2xx responses against %s:\n%s", e[1], target, out)
	}
	rate, err := strconv.ParseFloat(string(m[1]), 64)
	return rate, cpu, err
}

// quartiles returns the first quartile, the median and the third quartile
// of xs (linear interpolation between the closest ranks); xs is sorted.
func quartiles(xs []float64) [3]float64 {
	var q [3]float64
	if len(xs) == 0 {
		return q
	}
	slices.Sort(xs)
	for i, p := range []float64{0.25, 0.5, 0.75} {
		pos := p * float64(len(xs)-1)
		lo := int(pos)
		hi := min(lo+1, len(xs)-1)
		q[i] = xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
	}
	return q
}
