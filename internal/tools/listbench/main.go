// Command listbench measures IAM list pagination at scale: it fills the
// database of a real `opensts serve` process (SQLite) with N roles through
// the store's bulk path, then times one ListRoles page read from the store
// directly (MaxItems 100 and 1000, in the middle of the list), the same
// pages through the server's API with aws-sdk-go-v2, a full listing with the
// SDK's paginator, and concurrent callers reading pages at random positions
// (p50/p99 page latency and calls per second). With -postgres it times the
// store pages on PostgreSQL too.
//
//	go run ./internal/tools/listbench -roles 1000,100000
//	go run ./internal/tools/listbench -roles 100000 -postgres "$(./scripts/test-postgres)"
//
// It is a measuring tool, not a test: it prints figures and sets no targets.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/postgres"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/tools/devserver"
)

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func main() {
	counts := flag.String("roles", "1000,100000", "comma-separated role counts to measure")
	bin := flag.String("bin", "", "run this opensts binary instead of building one")
	callers := flag.Int("concurrency", 16, "concurrent ListRoles callers")
	duration := flag.Duration("duration", 10*time.Second, "how long the concurrent callers run")
	pgDSN := flag.String("postgres", "", "also time store pages on this PostgreSQL database (in a throwaway schema)")
	storeOnly := flag.Bool("store-only", false, "time store pages only (no server)")
	flag.Parse()
	ctx := context.Background()

	if *bin == "" && !*storeOnly {
		dir, err := os.MkdirTemp("", "listbench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "opensts")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/opensts")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			log.Fatalf("build: %v", err)
		}
	}
	for _, c := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			log.Fatalf("bad role count %q", c)
		}
		if *storeOnly {
			if err := sqliteStoreOnly(ctx, n); err != nil {
				log.Fatal(err)
			}
		} else if err := measureServer(ctx, *bin, n, *callers, *duration); err != nil {
			log.Fatal(err)
		}
		if *pgDSN != "" {
			if err := measurePostgres(ctx, *pgDSN, n); err != nil {
				log.Fatal(err)
			}
		}
	}
}

func roleName(i int) string { return fmt.Sprintf("Role-%08d", i) }

// fill creates n roles in account, in batches of one transaction each.
func fill(ctx context.Context, st interface {
	CreateRoles(context.Context, []store.Role) error
}, account string, n int) (time.Duration, error) {
	start := time.Now()
	const batch = 5000
	now := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < n; i += batch {
		rs := make([]store.Role, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			path := "/"
			if j%10 == 0 {
				path = "/tenth/"
			}
			rs = append(rs, store.Role{Account: account, ID: fmt.Sprintf("AROABENCH%012d", j), Name: roleName(j), Path: path,
				TrustPolicy: trustPolicy, MaxSessionDuration: 3600, CreatedAt: now})
		}
		if err := st.CreateRoles(ctx, rs); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// median runs f k times and returns the median duration.
func median(k int, f func() error) (time.Duration, error) {
	ds := make([]time.Duration, 0, k)
	for range k {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// storePages prints the median time of a store page of 100 and of 1000
// roles (limit+1 rows, as iam asks) in the middle of the list, and of a
// 100-role page under the path prefix /tenth/ (a tenth of the roles).
func storePages(ctx context.Context, backend string, st store.Store, account string, n int) error {
	after := store.NameKey(roleName(n / 2))
	for _, size := range []int{100, 1000} {
		d, err := median(21, func() error {
			rs, err := st.ListRoles(ctx, account, store.ListOptions{After: after, Limit: size + 1})
			if err == nil && len(rs) == 0 {
				err = fmt.Errorf("empty page")
			}
			return err
		})
		if err != nil {
			return err
		}
		fmt.Printf("%-8s roles=%-8d store ListRoles page MaxItems=%-4d median %v\n", backend, n, size, d)
	}
	d, err := median(21, func() error {
		_, err := st.ListRoles(ctx, account, store.ListOptions{PathPrefix: "/tenth/", After: after, Limit: 101})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("%-8s roles=%-8d store ListRoles page MaxItems=100 PathPrefix=/tenth/ (n/10 match) median %v\n", backend, n, d)
	return nil
}

func sqliteStoreOnly(ctx context.Context, n int) error {
	dir, err := os.MkdirTemp("", "listbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(filepath.Join(dir, "opensts.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	took, err := fill(ctx, st, devserver.Account, n)
	if err != nil {
		return err
	}
	fmt.Printf("sqlite   roles=%-8d created in %v\n", n, took.Round(time.Millisecond))
	return storePages(ctx, "sqlite", st, devserver.Account, n)
}

func measureServer(ctx context.Context, bin string, n, callers int, duration time.Duration) error {
	srv, err := devserver.Start(bin)
	if err != nil {
		return err
	}
	defer srv.Close()
	st, err := sqlite.Open(filepath.Join(srv.Dir, "data", "opensts.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	took, err := fill(ctx, st, devserver.Account, n)
	if err != nil {
		return err
	}
	fmt.Printf("sqlite   roles=%-8d created in %v\n", n, took.Round(time.Millisecond))
	if err := storePages(ctx, "sqlite", st, devserver.Account, n); err != nil {
		return err
	}

	client := iam.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(devserver.RootKey, devserver.RootSecret, ""),
	})
	// Markers spread over the list (some 1,000), as the server writes
	// them (a marker is opaque, with a check value: one made up is
	// refused): the middle one for the timed pages, all of them for the
	// concurrent callers to start their pages at.
	markers, err := spreadMarkers(ctx, client, n)
	if err != nil {
		return err
	}
	mid := markers[len(markers)/2]
	for _, size := range []int32{100, 1000} {
		d, err := median(11, func() error {
			_, err := client.ListRoles(ctx, &iam.ListRolesInput{Marker: mid, MaxItems: aws.Int32(size)})
			return err
		})
		if err != nil {
			return err
		}
		fmt.Printf("server   roles=%-8d API ListRoles page MaxItems=%-4d median %v\n", n, size, d)
	}

	start := time.Now()
	total, pages := 0, 0
	p := iam.NewListRolesPaginator(client, &iam.ListRolesInput{MaxItems: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		total += len(out.Roles)
		pages++
	}
	fmt.Printf("server   roles=%-8d API full ListRoles (paginator, MaxItems=1000): %d roles in %d pages, %v\n",
		n, total, pages, time.Since(start).Round(time.Millisecond))
	if total < n {
		return fmt.Errorf("listed %d roles of %d", total, n)
	}

	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	stop := time.Now().Add(duration)
	for range callers {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for time.Now().Before(stop) {
				i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(markers))))
				t0 := time.Now()
				_, err := client.ListRoles(ctx, &iam.ListRolesInput{Marker: markers[i.Int64()], MaxItems: aws.Int32(100)})
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(lats) == 0 {
		return fmt.Errorf("no successful calls (%d errors)", errs)
	}
	slices.Sort(lats)
	pct := func(q float64) time.Duration { return lats[min(len(lats)-1, int(q*float64(len(lats))))] }
	fmt.Printf("server   roles=%-8d API %d concurrent ListRoles callers (MaxItems=100, random markers) for %v: %d calls, %.0f calls/s, p50 %v, p99 %v, max %v, %d errors\n",
		n, callers, duration, len(lats), float64(len(lats))/duration.Seconds(), pct(0.50), pct(0.99), lats[len(lats)-1], errs)
	return nil
}

// spreadMarkers returns the markers of a walk over the n roles in pages of
// n/1,000 (10 to 1,000).
func spreadMarkers(ctx context.Context, client *iam.Client, n int) ([]*string, error) {
	step := int32(min(1000, max(n/1000, 10)))
	var out []*string
	var marker *string
	for {
		page, err := client.ListRoles(ctx, &iam.ListRolesInput{Marker: marker, MaxItems: aws.Int32(step)})
		if err != nil {
			return nil, err
		}
		if page.Marker == nil {
			break
		}
		marker = page.Marker
		out = append(out, marker)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%d roles: no marker", n)
	}
	return out, nil
}

func measurePostgres(ctx context.Context, dsn string, n int) error {
	b := make([]byte, 6)
	rand.Read(b)
	schema := "listbench_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer st.Close()
	took, err := fill(ctx, st, devserver.Account, n)
	if err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "ANALYZE "+schema+".roles"); err != nil {
		return err
	}
	fmt.Printf("postgres roles=%-8d created in %v\n", n, took.Round(time.Millisecond))
	return storePages(ctx, "postgres", st, devserver.Account, n)
}
