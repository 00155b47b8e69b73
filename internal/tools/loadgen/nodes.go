package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/tools/devserver"
)

// runNodes measures issuance on one node against n nodes of one PostgreSQL
// deployment, in alternating rounds of the same length:
//
//	go run ./internal/tools/loadgen -nodes 2 -database-url "$DSN" -duration 10s -rounds 3
//
// Each node is pinned to its own core (taskset) with GOMAXPROCS=1, so a
// node is "one core" however many the machine has; PostgreSQL and wrk are
// not pinned and share the cores with them. Every node in use gets
// conns/n connections from a wrk of its own: in the one-node rounds node 1
// alone (the others idle), in the n-node rounds every node at once.
// Besides the rates it prints, per round, each node's CPU time per
// AssumeRole answered and the share of its core it got (from
// /proc/PID/stat), and wrk's own CPU time: on a machine with no spare core
// for the load generator and the database, the rate of n nodes cannot show
// n times one node's, while the CPU time per AssumeRole shows whether a
// node's work per request grows when a second node shares the database.
func runNodes(dsn string, n, conns int, duration time.Duration, rounds int) error {
	if dsn == "" {
		return fmt.Errorf("-nodes needs -database-url (an empty PostgreSQL database)")
	}
	if tool != "wrk" {
		return fmt.Errorf("-nodes runs wrk only")
	}
	for _, t := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found: %w", t, err)
		}
	}
	if n < 2 || conns < n || conns%n != 0 {
		return fmt.Errorf("-nodes %d with -connections %d: want at least 2 nodes and the same number of connections for each", n, conns)
	}
	if 2*time.Duration(rounds)*(duration+2*time.Second) > 12*time.Minute {
		return fmt.Errorf("-rounds %d of %s: the signed requests are valid for 15 minutes; make the runs shorter", rounds, duration)
	}
	// A node on one core with all the connections queues requests; a
	// late answer is not an error here.
	wrkTimeout = 10 * time.Second
	tmp, err := os.MkdirTemp("", "opensts-loadgen-nodes")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := binPath
	if bin == "" {
		if bin, err = devserver.Build(tmp); err != nil {
			return err
		}
	}
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	audit := false
	env := []string{"OPENSTS_MASTER_KEY=" + base64.StdEncoding.EncodeToString(key), "OPENSTS_DATABASE_URL=" + dsn, "GOMAXPROCS=1"}
	cpus := runtime.NumCPU()
	var srvs []*devserver.Server
	defer func() {
		for _, s := range srvs {
			s.Close()
		}
	}()
	for i := range n {
		s, err := devserver.StartWith(devserver.Options{Bin: bin, Args: []string{"--store", "postgres"}, Env: env, Audit: &audit})
		if err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
		srvs = append(srvs, s)
		// Every thread of the process, and those it starts later, on one core.
		if out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(i%cpus), strconv.Itoa(s.Pid())).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset node %d: %v: %s", i+1, err, out)
		}
	}
	// One caller, created through node 1; each node gets the request signed
	// for its own host.
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "load-" + hex.EncodeToString(suffix[:])
	k, err := createCaller(srvs[0].Endpoint, name)
	if err != nil {
		return err
	}
	scripts := make([]string, n)
	for i, s := range srvs {
		body, header, err := signAssumeRole(s.Endpoint, name, k)
		if err != nil {
			return err
		}
		scripts[i] = filepath.Join(tmp, fmt.Sprintf("assume-%d.lua", i))
		if err := os.WriteFile(scripts[i], []byte(luaScript(body, header)), 0o600); err != nil {
			return err
		}
		// Warm up (the caller's key and role reach every node's caches).
		if _, _, err := wrkCPU(s.Endpoint+"/", scripts[i], 2, 1, 2*time.Second); err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
	}
	fmt.Printf("%d nodes on one PostgreSQL, node i pinned to core i-1 with GOMAXPROCS=1, %d cores; %d connections a node, wrk, %s per run\n", n, cpus, conns/n, duration)

	type result struct {
		rate     float64
		nodeCPU  []time.Duration
		wrkCPU   time.Duration
		busyFrac float64 // of the machine's cores, over the run
	}
	measure := func(active int) (result, error) {
		r := result{nodeCPU: make([]time.Duration, n)}
		before := make([]time.Duration, n)
		for i, s := range srvs {
			if before[i], err = devserver.ProcCPU(s.Pid()); err != nil {
				return r, err
			}
		}
		busy0, total0, err := machineCPU()
		if err != nil {
			return r, err
		}
		rates := make([]float64, active)
		wcpu := make([]time.Duration, active)
		errs := make([]error, active)
		var wg sync.WaitGroup
		for i := range active {
			// Each node gets conns/n connections in both kinds of round:
			// a node's CPU time per AssumeRole falls as its concurrency
			// grows (signatures are batched), so it is compared at the
			// same concurrency.
			c := conns / n
			wg.Go(func() {
				rates[i], wcpu[i], errs[i] = wrkCPU(srvs[i].Endpoint+"/", scripts[i], c, 1, duration)
			})
		}
		wg.Wait()
		busy1, total1, err := machineCPU()
		if err != nil {
			return r, err
		}
		for i := range active {
			if errs[i] != nil {
				return r, errs[i]
			}
			r.rate += rates[i]
			r.wrkCPU += wcpu[i]
		}
		for i, s := range srvs {
			after, err := devserver.ProcCPU(s.Pid())
			if err != nil {
				return r, err
			}
			r.nodeCPU[i] = after - before[i]
		}
		r.busyFrac = float64(busy1-busy0) / float64(total1-total0)
		return r, nil
	}
	report := func(label string, r result, active int) float64 {
		var parts []string
		var cpu time.Duration
		for i := range n {
			cpu += r.nodeCPU[i]
			parts = append(parts, fmt.Sprintf("node %d %.0f%% of its core", i+1, 100*r.nodeCPU[i].Seconds()/duration.Seconds()))
		}
		reqs := r.rate * duration.Seconds()
		perReq := float64(cpu.Microseconds()) / reqs
		fmt.Printf("  %s: %.0f AssumeRole/s, server CPU %.1f µs an AssumeRole (%s), wrk CPU %.1f µs a request, machine %.0f%% busy\n",
			label, r.rate, perReq, strings.Join(parts, ", "), float64(r.wrkCPU.Microseconds())/reqs, 100*r.busyFrac)
		return perReq
	}
	var oneRate, manyRate, oneCPU, manyCPU float64
	for round := range rounds {
		fmt.Printf("round %d\n", round+1)
		one, err := measure(1)
		if err != nil {
			return err
		}
		oneCPU += report("1 node ", one, 1)
		many, err := measure(n)
		if err != nil {
			return err
		}
		manyCPU += report(fmt.Sprintf("%d nodes", n), many, n)
		oneRate += one.rate
		manyRate += many.rate
	}
	r := float64(rounds)
	fmt.Printf("mean: 1 node %.0f AssumeRole/s, %d nodes %.0f AssumeRole/s (%.2fx); server CPU an AssumeRole: 1 node %.1f µs, %d nodes %.1f µs\n",
		oneRate/r, n, manyRate/r, manyRate/oneRate, oneCPU/r, n, manyCPU/r)
	fmt.Printf("per-core capacity of %d nodes against 1 (each node on a core of its own, at the CPU cost an AssumeRole measured above): %.2fx\n",
		n, float64(n)*oneCPU/manyCPU)
	return nil
}

// machineCPU reads the busy and total jiffies of all cores from /proc/stat.
func machineCPU() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}
