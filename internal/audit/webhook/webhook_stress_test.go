package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStressFlakyReceiverClose: concurrent Writes (small, about a
// queue chunk, larger than one) and Alerts; a receiver that answers 500,
// 400 or 200 at random; a Close with a short deadline while writers still
// write. No fault; every call accounted once (sent or dropped); nothing
// left counted; each record the receiver accepted arrived once, whole.
func TestStressFlakyReceiverClose(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch n.Add(1) % 7 {
		case 1, 4:
			w.WriteHeader(500)
			return
		case 5:
			w.WriteHeader(400)
			return
		}
		var body struct {
			Text    *string
			Records []json.RawMessage
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body not JSON: %v (%d bytes)", err, len(b))
			w.WriteHeader(200)
			return
		}
		mu.Lock()
		for _, r := range body.Records {
			var rec struct{ ID string }
			if json.Unmarshal(r, &rec) != nil || rec.ID == "" {
				t.Errorf("bad record %.80s", r)
				continue
			}
			if body.Text == nil {
				seen[rec.ID]++
			}
		}
		if body.Text != nil {
			seen["alert:"+*body.Text]++
		}
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, BufferBytes: 5 << 20, BatchEvents: 20, BatchBytes: 200 << 10, BatchWait: time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var calls, okCalls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := string(rune('a'+w)) + "-" + itoa(i)
				pad := 10
				switch i % 23 {
				case 5:
					pad = queueChunk - 40
				case 13:
					pad = queueChunk + 3000
				}
				rec := []byte(`{"ID":"` + id + `","p":"` + strings.Repeat("x", pad) + `"}`)
				calls.Add(1)
				var ok bool
				if i%11 == 0 {
					ok = s.Alert(id, rec)
				} else {
					ok = s.Write(rec)
				}
				if ok {
					okCalls.Add(1)
				}
				if i%20 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	s.Close(ctx)
	cancel()
	close(stop)
	wg.Wait()
	s.Close(context.Background())
	if s.Write([]byte(`{}`)) || s.Alert("x") {
		t.Fatal("accepted after Close")
	}
	calls.Add(2)
	if b := s.BacklogBytes(); b != 0 || s.Backlog() != 0 || s.queued != 0 || s.queue.Len() != 0 {
		t.Fatalf("after Close: bytes %d backlog %d queued %d len %d", b, s.Backlog(), s.queued, s.queue.Len())
	}
	if got := int64(s.Sent() + s.Dropped()); got != calls.Load() {
		t.Fatalf("sent %d + dropped %d = %d, calls %d", s.Sent(), s.Dropped(), got, calls.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s received %d times", id, k)
		}
		total += k
	}
	t.Logf("calls %d accepted %d sent %d dropped %d received %d posts %d", calls.Load(), okCalls.Load(), s.Sent(), s.Dropped(), total, n.Load())
	// A POST the Close deadline cut short may have reached the receiver
	// (counted dropped): received can exceed sent, never fall short.
	if int64(total) < int64(s.Sent()) {
		t.Fatalf("received %d, sent %d", total, s.Sent())
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
