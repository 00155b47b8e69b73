// Command scale measures how `opensts serve` holds up as the number of
// principals grows. It seeds a data directory (SQLite) or a PostgreSQL
// database (-postgres) with N users, each with an access key and a role
// whose trust policy names that user alone (N distinct trust documents),
// writing through the store in batched transactions; then it starts the
// server on that data and measures, in the same run:
//
//   - cold start: from process start to the first successful AssumeRole;
//   - data size per entity (one user, its key and its role);
//   - AssumeRole requests per second with one caller and role, and across
//     all N (each request a different user, key and role, in rotation,
//     after a pass over all N to fill the caches);
//   - the same across N while -writes IAM writes a second change unrelated
//     entities (an inline user policy, a group's members, a managed policy's
//     default version, a role's tags), against no writes;
//   - the server's peak resident memory (VmHWM);
//   - after that, creation through the API: -create users, each with an
//     access key and a role, made by -creators concurrent aws-sdk-go-v2
//     clients (CreateUser, CreateAccessKey, CreateRole), then deleted
//     (DeleteAccessKey, DeleteUser, DeleteRole), in calls a second;
//   - with each rate, the server's CPU time a request: steadier than the
//     rate on a shared machine. Each run starts once the server is idle
//     (under a tenth of a core for a second), so that the work a run
//     leaves behind (last-use writes, detection baselines, flushed after
//     it) is not charged to the next; that work is measured while the tool
//     waits for the server to go idle after the run, and reported apart.
//
// Load comes from wrk, with a Lua script that rotates through requests the
// tool signed beforehand (signing costs the load generator nothing); the
// one-role figure uses the same script with one request, so the two differ
// only in what the server does.
//
//	go run ./internal/tools/scale -n 100000
//	go run ./internal/tools/scale -n 1000000 -data /tmp/scale-1m   # seeds once, reruns reuse it
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/postgres"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/store/sqlstore"
	"github.com/opensts/opensts/internal/tools/devserver"
)

// masterKey seals the seeded secrets; tools only, never production.
var masterKey = bytes.Repeat([]byte{0x5c}, seal.KeySize)

// secretSeed derives the seeded users' secret access keys, so that the
// tool signs for any of them without keeping N secrets.
var secretSeed = []byte("opensts scale tool secrets")

var opt struct {
	n        int
	dataDir  string
	pgDSN    string
	conns    int
	threads  int
	duration time.Duration
	writes   int
	bin      string
	batch    int
	gomemlim string
	warm     int
	pairs    int
	create   int
	creators int
}

func main() {
	flag.IntVar(&opt.n, "n", 100_000, "users, access keys and roles to seed")
	flag.StringVar(&opt.dataDir, "data", "", "data directory to seed and keep (reused when it already holds -n entities); default: a temporary one")
	flag.StringVar(&opt.pgDSN, "postgres", "", "seed and serve this PostgreSQL database (a DSN; it must be empty) instead of SQLite")
	flag.IntVar(&opt.conns, "connections", 32, "keep-alive connections")
	flag.IntVar(&opt.threads, "threads", 2, "wrk threads")
	flag.DurationVar(&opt.duration, "duration", 8*time.Second, "duration of each measured run")
	flag.IntVar(&opt.writes, "writes", 10, "IAM writes a second during the writes run")
	flag.StringVar(&opt.bin, "bin", "", "run this opensts binary instead of building one")
	flag.IntVar(&opt.batch, "batch", 5000, "entities per seeding transaction")
	flag.StringVar(&opt.gomemlim, "gomemlimit", "", "GOMEMLIMIT for the server (default: serve's own setting)")
	flag.IntVar(&opt.warm, "warm", 200_000, "entities the first pass goes over before the runs (at most -n)")
	flag.IntVar(&opt.pairs, "pairs", 2, "times a run with one role and one across all N alternate, and a run with no writes and one with writes (their means are compared; each pair's ratio is printed too)")
	flag.IntVar(&opt.create, "create", 2000, "users, each with an access key and a role, to create through the API after the runs (and delete after that), to measure creation at this size (0: none)")
	flag.IntVar(&opt.creators, "creators", 8, "concurrent clients of -create")
	flag.Parse()
	if opt.pairs < 1 {
		log.Fatal("-pairs must be at least 1")
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// entity i's names and ids.
func userName(i int) string { return fmt.Sprintf("u%07d", i) }
func roleName(i int) string { return fmt.Sprintf("r%07d", i) }

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func uniqueID(prefix string, i int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return prefix + "SCL" + idEncoding.EncodeToString(b[:]) // A-Z2-7, as issued ids
}

func keyID(i int) string {
	var r [5]byte
	r[0] = byte(i>>32) & 0x7f
	binary.BigEndian.PutUint32(r[1:], uint32(i))
	id, err := session.NewAccessKeyID("AKIA", devserver.Account, bytes.NewReader(r[:]))
	if err != nil {
		panic(err)
	}
	return id
}

func secret(i int) string {
	m := hmac.New(sha256.New, secretSeed)
	_ = binary.Write(m, binary.BigEndian, uint64(i))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))[:40]
}

func trustPolicy(i int) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + uniqueID("AIDA", i) + `"},"Action":"sts:AssumeRole"}]}`
}

func run() error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	tmp, err := os.MkdirTemp("", "opensts-scale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if opt.bin == "" {
		if opt.bin, err = devserver.Build(tmp); err != nil {
			return err
		}
	}
	data := opt.dataDir
	if data == "" {
		data = filepath.Join(tmp, "data")
	}
	env := []string{"OPENSTS_MASTER_KEY=" + base64.StdEncoding.EncodeToString(masterKey)}
	// The servers keep the audit trail as serve does by default, but
	// not for ever: a kept -data directory gathered tens of GB of earlier
	// runs' trails (serve keeps every file unless told otherwise).
	args := []string{"--audit-retention", "1h"}
	if opt.pgDSN != "" {
		env = append(env, "OPENSTS_DATABASE_URL="+opt.pgDSN)
		args = append(args, "--store", "postgres")
	}
	if opt.gomemlim != "" {
		env = append(env, "GOMEMLIMIT="+opt.gomemlim)
	}
	start := func(wait bool) (*devserver.Server, error) {
		return devserver.StartWith(devserver.Options{Bin: opt.bin, DataDir: data, Args: args, Env: env, NoWait: !wait})
	}

	ctx := context.Background()
	seedTime, size, err := seed(ctx, data, start)
	if err != nil {
		return err
	}

	// Cold start: nothing preloaded, timed to the first AssumeRole answered.
	srv, err := start(false)
	if err != nil {
		return err
	}
	defer srv.Close()
	cold, err := firstAnswer(srv, opt.n/2)
	if err != nil {
		return err
	}

	one, err := newLoad(tmp, srv.Pid(), srv.Endpoint, []int{opt.n / 2})
	if err != nil {
		return err
	}
	all := make([]int, opt.n)
	for i := range all {
		all[i] = i
	}
	many, err := newLoad(tmp, srv.Pid(), srv.Endpoint, all)
	if err != nil {
		return err
	}
	fmt.Printf("%d entities; %d connections, %d wrk threads, %s a run\n", opt.n, opt.conns, opt.threads, opt.duration)

	warm := time.Now()
	if err := many.warm(opt.conns, min(opt.warm, opt.n)); err != nil {
		return err
	}
	warmTime := time.Since(warm)
	// The warm-up pass leaves writes behind (last use, detection
	// baselines); measured runs start once the server is idle, so that
	// neither their rate nor their CPU per request carries them.
	if _, err := waitIdle(srv.Pid(), time.Minute); err != nil {
		return err
	}
	w, err := newWriter(ctx, srv.Endpoint)
	if err != nil {
		return err
	}

	// One role and N roles alternate, as do writes and none.
	var oneRuns, manyRuns, quietRuns, busyRuns runs
	for range opt.pairs {
		r, err := one.wrk(nil)
		if err != nil {
			return err
		}
		oneRuns = append(oneRuns, r)
		if r, err = many.wrk(nil); err != nil {
			return err
		}
		manyRuns = append(manyRuns, r)
	}
	for range opt.pairs {
		r, err := many.wrk(nil)
		if err != nil {
			return err
		}
		quietRuns = append(quietRuns, r)
		var stop func() (int, error)
		r, err = many.wrk(&around{start: func() { stop = w.start(opt.writes) }, stop: func() error {
			n, err := stop()
			if err != nil {
				return fmt.Errorf("IAM writes: %w", err)
			}
			fmt.Printf("  (%d IAM writes in the run)\n", n)
			return nil
		}})
		if err != nil {
			return err
		}
		busyRuns = append(busyRuns, r)
	}
	hwm, err := devserver.ProcStatus(srv.Pid(), "VmHWM")
	if err != nil {
		return err
	}
	rss, err := devserver.ProcStatus(srv.Pid(), "VmRSS")
	if err != nil {
		return err
	}
	mem, err := memoryNow(srv)
	if err != nil {
		return err
	}

	var made creation
	if opt.create > 0 {
		if _, err := waitIdle(srv.Pid(), time.Minute); err != nil {
			return err
		}
		if made, err = create(ctx, srv.Endpoint, opt.create, opt.creators); err != nil {
			return err
		}
	}

	o, m, q, b := oneRuns.rps(), manyRuns.rps(), quietRuns.rps(), busyRuns.rps()
	fmt.Println()
	fmt.Printf("%-48s %s\n", "measure", "value")
	fmt.Printf("%-48s %s\n", "entities (user + access key + role)", strconv.Itoa(opt.n))
	fmt.Printf("%-48s %s\n", "seeding", seedTime.Round(time.Millisecond))
	fmt.Printf("%-48s %s\n", "data size per entity", size)
	fmt.Printf("%-48s %s\n", "cold start to first AssumeRole", cold.Round(time.Millisecond))
	fmt.Printf("%-48s %s (%.0f req/s, Go client signing each)\n", fmt.Sprintf("first pass over %d roles", min(opt.warm, opt.n)), warmTime.Round(time.Millisecond), float64(min(opt.warm, opt.n))/warmTime.Seconds())
	fmt.Printf("%-48s %.0f req/s  %v\n", "AssumeRole, one role", o, oneRuns.rates())
	fmt.Printf("%-48s %.0f req/s  %v  %.1f%% of one role\n", fmt.Sprintf("AssumeRole, across %d roles", opt.n), m, manyRuns.rates(), 100*m/o)
	fmt.Printf("%-48s %.0f req/s  %v\n", "  same, no IAM writes", q, quietRuns.rates())
	fmt.Printf("%-48s %.0f req/s  %v  %.1f%% of no writes\n", fmt.Sprintf("  same, %d IAM writes/s to unrelated entities", opt.writes), b, busyRuns.rates(), 100*b/q)
	oc, mc := oneRuns.cpu(), manyRuns.cpu()
	fmt.Printf("%-48s %.1f µs, then %.1f µs flushed after the run\n", "server CPU a request, one role", oc, oneRuns.after())
	fmt.Printf("%-48s %.1f µs, then %.1f µs flushed after the run (one role's %.1f%% of it)\n",
		fmt.Sprintf("server CPU a request, across %d roles", opt.n), mc, manyRuns.after(), 100*oc/mc)
	fmt.Printf("%-48s by rate %v, by CPU %v\n", "  each pair's across / one role", pairRatios(manyRuns, oneRuns, result.rate), pairRatios(oneRuns, manyRuns, result.cpuPer))
	fmt.Printf("%-48s one role %s; across %d roles %s\n", "server system calls a request", oneRuns.syscalls(), opt.n, manyRuns.syscalls())
	fmt.Printf("%-48s %.1f MiB (now %.1f MiB)\n", "server peak RSS (VmHWM)", float64(hwm)/1024, float64(rss)/1024)
	fmt.Printf("%-48s %s\n", "  of it now", mem)
	if opt.create > 0 {
		fmt.Printf("%-48s %.0f calls/s (%d users, access keys and roles in %s), p99 %s\n", fmt.Sprintf("creation through the API, %d clients", opt.creators),
			made.create.rate, opt.create, made.create.took.Round(time.Millisecond), made.create.p99.Round(100*time.Microsecond))
		fmt.Printf("%-48s %.0f calls/s (in %s), p99 %s\n", "  and their deletion", made.del.rate, made.del.took.Round(time.Millisecond), made.del.p99.Round(100*time.Microsecond))
	}
	return nil
}

// creation is what create measured: its creation and its deletion.
type creation struct{ create, del phase }

// phase is one of them: calls a second, the time it took, and the 99th
// percentile of its calls' latency.
type phase struct {
	rate      float64
	took, p99 time.Duration
}

// create makes count users, each with an access key and a role whose
// trust policy names it, through the API with clients concurrent
// aws-sdk-go-v2 clients (root's key), then deletes them the same way, so
// that a kept data directory holds what it did. Names carry the run's
// start, so that a run cut short leaves nothing a rerun trips on.
func create(ctx context.Context, endpoint string, count, clients int) (creation, error) {
	c := rootIAM(endpoint)
	prefix := fmt.Sprintf("c%x-", time.Now().UnixNano())
	keys := make([]string, count)
	run := func(calls func(i int) []func() error) (phase, error) {
		var next atomic.Int64
		lat := make([][]time.Duration, clients)
		errs := make(chan error, clients)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= count {
						errs <- nil
						return
					}
					for _, call := range calls(i) {
						t := time.Now()
						if err := call(); err != nil {
							errs <- err
							return
						}
						lat[w] = append(lat[w], time.Since(t))
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		close(errs)
		for err := range errs {
			if err != nil {
				return phase{}, err
			}
		}
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		slices.Sort(all)
		return phase{rate: float64(len(all)) / took.Seconds(), took: took, p99: all[len(all)*99/100]}, nil
	}
	var made creation
	var err error
	made.create, err = run(func(i int) []func() error {
		name := prefix + strconv.Itoa(i)
		return []func() error{
			func() error {
				_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
				return err
			},
			func() error {
				out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
				if err == nil {
					keys[i] = aws.ToString(out.AccessKey.AccessKeyId)
				}
				return err
			},
			func() error {
				trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devserver.Account + `:user/` + name + `"},"Action":"sts:AssumeRole"}]}`
				_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
				return err
			},
		}
	})
	if err != nil {
		return made, fmt.Errorf("creation: %w", err)
	}
	made.del, err = run(func(i int) []func() error {
		name := prefix + strconv.Itoa(i)
		return []func() error{
			func() error {
				_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: aws.String(keys[i])})
				return err
			},
			func() error {
				_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
				return err
			},
			func() error {
				_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
				return err
			},
		}
	})
	if err != nil {
		return made, fmt.Errorf("deletion: %w", err)
	}
	return made, nil
}

// memoryNow says what the server's resident memory is made of: the pages
// of its binary and libraries (RssFile), and the anonymous rest, of which
// the Go runtime's heap (its in-use spans, and the objects in them, live
// or not yet collected); the rest of that is memory mapped outside the Go
// heap (the caches' second tiers and their indexes, the audit index,
// detection's tier, last-use windows) and SQLite's.
func memoryNow(srv *devserver.Server) (string, error) {
	anon, err := devserver.ProcStatus(srv.Pid(), "RssAnon")
	if err != nil {
		return "", err
	}
	file, err := devserver.ProcStatus(srv.Pid(), "RssFile")
	if err != nil {
		return "", err
	}
	samples, err := srv.Metrics()
	if err != nil {
		return "", err
	}
	metric := func(name string) float64 { return samples[name] }
	heap, rest, largest, err := devserver.AnonSplit(srv.Pid())
	if err != nil {
		return "", err
	}
	var big []string
	for _, kb := range largest {
		big = append(big, fmt.Sprintf("%.1f", float64(kb)/1024))
	}
	const mib = 1 << 20
	runtimeOwn := 0.0 // the Go runtime's memory outside the heap's spans
	for _, m := range []string{"go_memstats_stack_sys_bytes", "go_memstats_mspan_sys_bytes", "go_memstats_mcache_sys_bytes",
		"go_memstats_buck_hash_sys_bytes", "go_memstats_gc_sys_bytes", "go_memstats_other_sys_bytes"} {
		runtimeOwn += metric(m)
	}
	return fmt.Sprintf("files %.1f MiB, anonymous %.1f MiB: in the Go heap's arenas %.1f MiB (spans in use %.1f MiB, objects %.1f MiB; "+
		"the runtime's memory in all, released pages included, %.1f MiB, of it %.1f MiB released and %.1f MiB its own: stacks, spans, GC metadata), "+
		"outside the arenas %.1f MiB (largest mappings, MiB: %s)",
		float64(file)/1024, float64(anon)/1024, float64(heap)/1024, metric("go_memstats_heap_inuse_bytes")/mib,
		metric("go_memstats_heap_alloc_bytes")/mib, metric("go_memstats_sys_bytes")/mib, metric("go_memstats_heap_released_bytes")/mib,
		runtimeOwn/mib, float64(rest)/1024, strings.Join(big, " ")), nil
}

// result is one measured run: its requests a second, and the server's CPU
// time a request during it and after it (the writes it left, flushed while
// the tool waited for the server to go idle).
type result struct {
	rps, cpu, after float64 // req/s, µs, µs
	reads, writes   float64 // the server's read and write system calls a request while wrk ran
}

type runs []result

func (rs runs) mean(f func(result) float64) float64 {
	s := 0.0
	for _, r := range rs {
		s += f(r)
	}
	return s / float64(len(rs))
}

func (r result) rate() float64   { return r.rps }
func (r result) cpuPer() float64 { return r.cpu }

func (rs runs) rps() float64   { return rs.mean(result.rate) }
func (rs runs) cpu() float64   { return rs.mean(result.cpuPer) }
func (rs runs) after() float64 { return rs.mean(func(r result) float64 { return r.after }) }

// syscalls is the runs' mean read and write system calls a request.
func (rs runs) syscalls() string {
	return fmt.Sprintf("%.2f read, %.2f write", rs.mean(func(r result) float64 { return r.reads }), rs.mean(func(r result) float64 { return r.writes }))
}

// pairRatios is f of each of a's runs over f of b's run of the same pair,
// in percent: how much a pair's ratio moves says what the means can tell.
func pairRatios(a, b runs, f func(result) float64) []string {
	out := make([]string, len(a))
	for i := range a {
		out[i] = strconv.FormatFloat(100*f(a[i])/f(b[i]), 'f', 1, 64) + "%"
	}
	return out
}

func (rs runs) rates() []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = int(r.rps + 0.5)
	}
	return out
}

// waitIdle waits until the server used under a tenth of a core over a
// second, or for at most limit, and returns the CPU time it used
// meanwhile.
func waitIdle(pid int, limit time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(limit)
	start, err := devserver.ProcCPU(pid)
	if err != nil {
		return 0, err
	}
	prev := start
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		cur, err := devserver.ProcCPU(pid)
		if err != nil {
			return 0, err
		}
		if cur-prev < 100*time.Millisecond {
			return cur - start, nil
		}
		prev = cur
	}
	fmt.Printf("  (the server was still busy %s later)\n", limit)
	return prev - start, nil
}

// seed fills the store with opt.n entities unless it holds them already
// (a marker file in the data directory says so), and returns how long it
// took and the data size per entity.
func seed(ctx context.Context, data string, start func(bool) (*devserver.Server, error)) (time.Duration, string, error) {
	marker := filepath.Join(data, fmt.Sprintf("scale-seeded-%d", opt.n))
	if opt.pgDSN == "" {
		if _, err := os.Stat(marker); err == nil {
			size, err := dataSize(ctx)(data)
			return 0, size + " (seeded before)", err
		}
	}
	t0 := time.Now()
	// The first start bootstraps the account and its root key.
	srv, err := start(true)
	if err != nil {
		return 0, "", err
	}
	srv.Close()
	var st interface {
		store.Store
		CreateBulk(context.Context, sqlstore.Bulk) error
	}
	if opt.pgDSN != "" {
		st, err = postgres.Open(ctx, opt.pgDSN)
	} else {
		st, err = sqlite.Open(filepath.Join(data, "opensts.db"))
	}
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	sealer, err := seal.New(masterKey, nil)
	if err != nil {
		return 0, "", err
	}
	now := time.Now().UTC().Truncate(time.Second)
	for lo := 0; lo < opt.n; lo += opt.batch {
		hi := min(lo+opt.batch, opt.n)
		var b sqlstore.Bulk
		for i := lo; i < hi; i++ {
			u := store.User{Account: devserver.Account, ID: uniqueID("AIDA", i), Name: userName(i), Path: "/", CreatedAt: now}
			k := store.AccessKey{ID: keyID(i), Account: devserver.Account, UserName: u.Name, UserID: u.ID, Status: "Active", CreatedAt: now}
			if k.Secret, err = sealer.Seal([]byte(secret(i)), []byte(k.ID)); err != nil {
				return 0, "", err
			}
			r := store.Role{Account: devserver.Account, ID: uniqueID("AROA", i), Name: roleName(i), Path: "/",
				TrustPolicy: trustPolicy(i), MaxSessionDuration: 3600, CreatedAt: now}
			b.Users, b.AccessKeys, b.Roles = append(b.Users, u), append(b.AccessKeys, k), append(b.Roles, r)
		}
		if err := st.CreateBulk(ctx, b); err != nil {
			return 0, "", fmt.Errorf("seed %d..%d: %w", lo, hi, err)
		}
		if hi%(20*opt.batch) == 0 || hi == opt.n {
			fmt.Fprintf(os.Stderr, "seeded %d/%d in %s\n", hi, opt.n, time.Since(t0).Round(time.Second))
		}
	}
	// The seeding's changes are of no use to a server started later (it
	// starts at the newest); a running one would prune them in an hour.
	if _, err := st.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		return 0, "", err
	}
	took := time.Since(t0)
	if err := st.Close(); err != nil {
		return 0, "", err
	}
	if opt.pgDSN == "" {
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return 0, "", err
		}
	}
	size, err := dataSize(ctx)(data)
	return took, size, err
}

// dataSize returns a function that reports the data size per entity: the
// pages of the users, access_keys and roles tables with their indexes
// (SQLite's dbstat; PostgreSQL's pg_total_relation_size), and the whole
// database's.
func dataSize(ctx context.Context) func(data string) (string, error) {
	per := func(tables, total int64) string {
		return fmt.Sprintf("%d bytes (tables and indexes of users, keys, roles; whole database %.1f MiB, %d bytes an entity)",
			tables/int64(opt.n), float64(total)/(1<<20), total/int64(opt.n))
	}
	if opt.pgDSN != "" {
		return func(string) (string, error) {
			c, err := pgx.Connect(ctx, opt.pgDSN)
			if err != nil {
				return "", err
			}
			defer c.Close(ctx)
			var tables, total int64
			err = c.QueryRow(ctx, `SELECT pg_total_relation_size('users') + pg_total_relation_size('access_keys') + pg_total_relation_size('roles'),
				pg_database_size(current_database())`).Scan(&tables, &total)
			return per(tables, total), err
		}
	}
	return func(data string) (string, error) {
		path := filepath.Join(data, "opensts.db")
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			return "", err
		}
		defer db.Close()
		var tables int64
		err = db.QueryRowContext(ctx, `SELECT sum(pgsize) FROM dbstat WHERE name IN
			(SELECT name FROM sqlite_master WHERE tbl_name IN ('users', 'access_keys', 'roles'))`).Scan(&tables)
		if err != nil {
			return "", err
		}
		var total int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				total += fi.Size()
			}
		}
		return per(tables, total), nil
	}
}

// firstAnswer polls AssumeRole for entity i until it succeeds and returns
// the time since the server process started.
func firstAnswer(srv *devserver.Server, i int) (time.Duration, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, err := signed(srv.Endpoint, i, time.Now())
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(srv.Started), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, errors.New("no successful AssumeRole within a minute of starting the server")
}

func assumeBody(i int) string {
	return "Action=AssumeRole&DurationSeconds=900&RoleArn=arn%3Aaws%3Aiam%3A%3A" + devserver.Account + "%3Arole%2F" + roleName(i) +
		"&RoleSessionName=scale&Version=2011-06-15"
}

const contentType = "application/x-www-form-urlencoded; charset=utf-8"

func signed(endpoint string, i int, t time.Time) (*http.Request, error) {
	body := assumeBody(i)
	req, err := http.NewRequest("POST", endpoint+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", userAgent)
	if err := sigv4.Sign(req, []byte(body), keyID(i), secret(i), "", "us-east-1", "sts", t.UTC()); err != nil {
		return nil, err
	}
	return req, nil
}

// load is a set of signed AssumeRole requests, one for each of entities,
// that wrk replays in rotation.
type load struct {
	pid      int // the server's, for its CPU time
	endpoint string
	entities []int
	dir      string
	script   string
	signedAt time.Time // when sign ran
	t        time.Time // the requests' time
}

func newLoad(dir string, pid int, endpoint string, entities []int) (*load, error) {
	dir, err := os.MkdirTemp(dir, "load")
	if err != nil {
		return nil, err
	}
	return &load{pid: pid, endpoint: endpoint, entities: entities, dir: dir}, nil
}

// sign (re)signs the requests when their signatures would expire within
// the next few minutes: the server accepts a request time within 15
// minutes of its clock.
func (l *load) sign() error {
	if time.Since(l.signedAt) < 5*time.Minute {
		return nil
	}
	t := time.Now().UTC().Truncate(time.Second)
	amzDate := t.Format("20060102T150405Z")
	lines := make([][]byte, len(l.entities))
	var wg sync.WaitGroup
	var failed atomic.Value
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for j := w; j < len(l.entities); j += workers {
				i := l.entities[j]
				req, err := signed(l.endpoint, i, t)
				if err != nil {
					failed.Store(err)
					return
				}
				if req.Header.Get("X-Amz-Date") != amzDate {
					failed.Store(errors.New("signer changed X-Amz-Date"))
					return
				}
				auth := req.Header.Get("Authorization")
				sig := auth[strings.LastIndex(auth, "=")+1:]
				// Fixed width: the role name, the key id, the signature.
				lines[j] = []byte(roleName(i) + " " + keyID(i) + " " + sig + "\n")
				if len(lines[j]) != lineWidth {
					failed.Store(fmt.Errorf("request line of %d bytes, want %d", len(lines[j]), lineWidth))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	reqFile := filepath.Join(l.dir, "requests")
	if err := os.WriteFile(reqFile, bytes.Join(lines, nil), 0o600); err != nil {
		return err
	}
	l.script = filepath.Join(l.dir, "rotate.lua")
	credScope := "/" + t.Format("20060102") + "/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
	bodyHead, bodyTail, _ := strings.Cut(assumeBody(0), roleName(0))
	lua := fmt.Sprintf(luaScript, reqFile, opt.threads, amzDate, contentType, credScope, bodyHead, bodyTail, userAgent, lineWidth, lineWidth)
	if err := os.WriteFile(l.script, []byte(lua), 0o600); err != nil {
		return err
	}
	l.signedAt, l.t = time.Now(), t
	return nil
}

// userAgent is the client every request of the tool names, the warm-up
// pass's (Go) and the runs' (wrk) alike. Detection learns each role's and
// principal's clients; with two (Go's default and wrk's none) every subject
// met a new client in the first run across N after the warm-up, and that
// run alone read and wrote back every subject's baseline (a tier read,
// some 2 µs a request in a profile) where the others judged it from the
// fast table: the first pair measured the learning of a new client by
// every role at once, not a deployment's steady state.
const userAgent = "opensts-scale/1"

// lineWidth is the width of a line of the requests file: a role name (8
// bytes), an access key id (20) and a signature (64), each followed by a
// space or a newline.
const lineWidth = 8 + 1 + 20 + 1 + 64 + 1

// luaScript rotates through the signed requests: thread k of T sends
// requests k, k+T, k+2T, ... and wraps around.
const luaScript = `
local file, nthreads = %q, %d
local amzdate, ctype, scope, bhead, btail, ua = %q, %q, %q, %q, %q, %q
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
-- wrk calls a thread's init, then starts the thread, before the next
-- thread's init, and times the run (its rate's divisor) from after the
-- last: requests the first threads sent during a slow init were counted in
-- a time that left them out (building tables of 1,000,000 requests took
-- seconds). So init reads the requests file whole, and its fixed-width
-- lines are cut as they are sent.
local data, n, idx = "", 0, 0
function init(args)
  local f = assert(io.open(file, "rb"))
  data = f:read("*a")
  f:close()
  n = math.floor(#data / %d)
  -- Each run starts at a random place of the rotation (args[1]), so that
  -- runs shorter than a whole rotation do not replay the same part.
  idx = tid + (tonumber(args[1]) or 0)
end
local headers = {["Content-Type"] = ctype, ["X-Amz-Date"] = amzdate, ["User-Agent"] = ua}
function request()
  local o = (idx %% n) * %d
  idx = idx + nthreads
  headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. string.sub(data, o + 10, o + 29) .. scope .. string.sub(data, o + 31, o + 94)
  return wrk.format("POST", "/", headers, bhead .. string.sub(data, o + 1, o + 8) .. btail)
end
function done(summary, latency, requests)
  local errs = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("non2xx_or_errors %%d\n", errs))
end
`

var (
	rpsRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	errRe = regexp.MustCompile(`non2xx_or_errors (\d+)`)
	p99Re = regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`)
	nRe   = regexp.MustCompile(`(\d+) requests in`)
)

// around is what runs beside a measured run: start as it starts, stop as
// it ends (before the server is left to go idle).
type around struct {
	start func()
	stop  func() error
}

// wrk runs wrk for opt.duration, once the server is idle, and measures
// it; any failed request fails the run.
func (l *load) wrk(a *around) (result, error) {
	var res result
	if err := l.sign(); err != nil {
		return res, err
	}
	if _, err := waitIdle(l.pid, time.Minute); err != nil {
		return res, err
	}
	if a != nil {
		a.start()
	}
	cpu0, err := devserver.ProcCPU(l.pid)
	if err != nil {
		return res, err
	}
	r0, w0, err := devserver.ProcSyscalls(l.pid)
	if err != nil {
		return res, err
	}
	out, err := exec.Command("wrk", "-t", strconv.Itoa(opt.threads), "-c", strconv.Itoa(opt.conns), "-d", opt.duration.String(),
		"--latency", "-s", l.script, l.endpoint+"/", "--", strconv.Itoa(rand.IntN(len(l.entities)))).CombinedOutput()
	cpu1, cerr := devserver.ProcCPU(l.pid)
	if err == nil {
		err = cerr
	}
	r1, w1, serr := devserver.ProcSyscalls(l.pid)
	if err == nil {
		err = serr
	}
	if a != nil {
		if serr := a.stop(); err == nil {
			err = serr
		}
	}
	if err != nil {
		return res, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	m := rpsRe.FindSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("wrk output: %s", out)
	}
	if e := errRe.FindSubmatch(out); e == nil || string(e[1]) != "0" {
		return res, fmt.Errorf("wrk saw failed or non-2xx responses:\n%s", out)
	}
	if res.rps, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
		return res, err
	}
	p99 := "?"
	if m := p99Re.FindSubmatch(out); m != nil {
		p99 = string(m[1])
	}
	n := 0
	if m := nRe.FindSubmatch(out); m != nil {
		n, _ = strconv.Atoi(string(m[1]))
	}
	if n == 0 {
		return res, fmt.Errorf("wrk output without a request count: %s", out)
	}
	// What the run left behind is flushed after it: measured until the
	// server is idle, so that it is this run's, not the next one's.
	after, err := waitIdle(l.pid, time.Minute)
	if err != nil {
		return res, err
	}
	res.cpu = float64((cpu1 - cpu0).Microseconds()) / float64(n)
	res.after = float64(after.Microseconds()) / float64(n)
	res.reads, res.writes = float64(r1-r0)/float64(n), float64(w1-w0)/float64(n)
	fmt.Printf("  %d roles: %.0f req/s, p99 %s, server CPU %.1f µs a request, then %.1f µs flushed after; %.2f read and %.2f write system calls a request\n",
		len(l.entities), res.rps, p99, res.cpu, res.after, res.reads, res.writes)
	return res, nil
}

// warm sends every request once (from conns goroutines) and checks that
// each succeeds: the caches hold what they can of the working set before
// the runs.
func (l *load) warm(conns, count int) error {
	if err := l.sign(); err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	t := l.t
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				j := int(next.Add(1)) - 1
				if j >= count || failed.Load() != nil {
					return
				}
				req, err := signed(l.endpoint, l.entities[j], t)
				if err != nil {
					failed.Store(err)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Store(fmt.Errorf("AssumeRole %s: %d %s", roleName(l.entities[j]), resp.StatusCode, b))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	return nil
}

// writer makes IAM writes to entities no AssumeRole of the load touches:
// an inline policy of a user, a group's membership, a managed policy's
// default version, a role's tags, in turn.
type writer struct {
	c *iam.Client
}

func newWriter(ctx context.Context, endpoint string) (*writer, error) {
	c := rootIAM(endpoint)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devserver.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	steps := []func() error{
		func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("w-user")})
			return err
		},
		func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("w-member")})
			return err
		},
		func() error {
			_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("w-group")})
			return err
		},
		func() error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("w-policy"), PolicyDocument: aws.String(doc)})
			return err
		},
		func() error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("w-user"), PolicyArn: aws.String(wPolicyARN)})
			return err
		},
		func() error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("w-role"), AssumeRolePolicyDocument: aws.String(trust)})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil && !strings.Contains(err.Error(), "EntityAlreadyExists") {
			return nil, err
		}
	}
	return &writer{c: c}, nil
}

// rootIAM is an IAM client of the server at endpoint with root's key.
func rootIAM(endpoint string) *iam.Client {
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(devserver.RootKey, devserver.RootSecret, "")})
}

const wPolicyARN = "arn:aws:iam::" + devserver.Account + ":policy/w-policy"

// write makes write number k.
func (w *writer) write(ctx context.Context, k int) error {
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"W%d","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, k)
	var err error
	switch k % 5 {
	case 0:
		_, err = w.c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("w-user"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(doc)})
	case 1:
		_, err = w.c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("w-group"), UserName: aws.String("w-member")})
	case 2:
		_, err = w.c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("w-group"), UserName: aws.String("w-member")})
	case 3:
		// A new default version, and the oldest non-default one deleted
		// (a managed policy keeps at most five).
		var vs *iam.ListPolicyVersionsOutput
		if vs, err = w.c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(wPolicyARN)}); err != nil {
			return err
		}
		if len(vs.Versions) >= 5 {
			for i := len(vs.Versions) - 1; i >= 0; i-- {
				if !vs.Versions[i].IsDefaultVersion {
					if _, err = w.c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(wPolicyARN), VersionId: vs.Versions[i].VersionId}); err != nil {
						return err
					}
					break
				}
			}
		}
		_, err = w.c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(wPolicyARN), PolicyDocument: aws.String(doc), SetAsDefault: true})
	case 4:
		_, err = w.c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("w-role"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strconv.Itoa(k))}}})
	}
	return err
}

// start makes perSecond writes a second until the returned stop is called,
// which returns how many were made and the first error.
func (w *writer) start(perSecond int) func() (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if e := w.write(ctx, n); e != nil && ctx.Err() == nil {
					err = e
					return
				}
				n++
			}
		}
	}()
	return func() (int, error) {
		cancel()
		<-done
		return n, err
	}
}
