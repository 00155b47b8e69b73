package session

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Group signing. Version 2 tokens are signed in batches, the way a database
// commits transactions in groups. A Mint that finds its key's signer idle
// becomes the leader; Mints that arrive while the signer is busy queue, and
// when a signature is done the oldest of them becomes the next leader and
// signs the queue at once. A batch holds at most maxBatch tokens and gets one
// Ed25519 signature over the root of a Merkle tree of the tokens.
//
// Batches that form only from Mints arriving during one signature (about
// 23µs) stay small: 1.2 to 2 tokens on average at the AssumeRole load of a
// 2-core node. So a leader collects company first when the node is loaded:
// when recent signatures had company (load, see batcher) and more Mints may
// come soon (batcher.more: some are in flight between Manager.Mint and the
// signer, or goroutines are waiting for a CPU, i.e. the CPUs are saturated
// and other requests are on their way). It parks, with a
// timer at collectBudget, and the Mints that queue meanwhile wake it as
// soon as the batch is full or nothing else can join: the last minter to
// queue while no goroutine waits for a CPU ends the wait, so a process whose
// goroutines all wait in Mint (a benchmark) signs at once, while an HTTP
// server whose other requests are still on their way to Mint waits up to the
// budget. Waiting costs no CPU (one timer and one park per batch, and one
// read of two scheduler counters per Mint while a leader collects). Under
// wrk at 32 connections this gives about 10 tokens per signature, twice as
// many as a single yield did. An idle node, and the first Mint after a quiet
// period, never waits: every signature of an idle node is made at once.
//
// Go's timers are precise to the microsecond while the process is busy, but
// a process with every P idle sleeps in the network poller in whole
// milliseconds. Collecting never starts in that state (more reports false),
// and the queueing Mints end it when the process goes idle through them; if
// the process goes idle through other work, the batch can wait up to about
// 1ms instead of collectBudget, once, at the end of a burst.
//
// The tree is the RFC 6962 Merkle tree hash of the token bodies (version,
// key id and payload), with the same domain separation:
//
//	leaf = SHA-256(0x00 || body)
//	node = SHA-256(0x01 || left || right)
//
// built bottom up; on a level with an odd number of nodes the last one moves
// up unchanged, which gives exactly RFC 6962's tree (split at the largest
// power of two below n) and never hashes a node with itself. The signature
// covers
//
//	batchLabel || key id || root
//
// so it can never be taken for a version 1 signature (whose message starts
// with the byte 0x01) or for anything else the key signs. A batch of one has
// its leaf as root and an empty audit path.
//
// Each token carries its audit path (sibling hashes from the leaf up) and one
// position byte: a leading 1 bit followed by one bit per path entry, entry j
// in bit j, set when the token's node is the right child at that step (the
// "generalized index" of the leaf with the promoted levels left out). The
// path length is the position's bit length minus one, so a token grows by
// 1 + 32*depth bytes over version 1, depth <= 6 for batches of up to 64.

const (
	tokenV2 = 0x02
	// batchLabel domain-separates batch signatures.
	batchLabel = "opensts/session-batch/v1\x00"
	// maxBatch caps the number of tokens signed with one signature, which
	// bounds the audit path at 6 hashes (192 bytes).
	maxBatch = 64
	// maxPathDepth is the longest audit path the format can express (the
	// position byte has room for 7 direction bits); decoders accept it so
	// that a larger maxBatch does not need a new version.
	maxPathDepth = 7
	hashSize     = sha256.Size
)

// leafHasher is a pooled SHA-256 with room for its output, so that hashing
// through the hash.Hash interface does not allocate.
type leafHasher struct {
	h   hash.Hash
	out [hashSize]byte
}

var (
	leafHashers = sync.Pool{New: func() any { return &leafHasher{h: sha256.New()} }}
	leafPrefix  = []byte{0x00}
)

// leafHash is the Merkle leaf hash of a token body.
func leafHash(body []byte) [hashSize]byte {
	lh := leafHashers.Get().(*leafHasher)
	lh.h.Reset()
	lh.h.Write(leafPrefix)
	lh.h.Write(body)
	lh.h.Sum(lh.out[:0])
	out := lh.out
	leafHashers.Put(lh)
	return out
}

// nodeHash is the Merkle interior node hash of two children.
func nodeHash(left, right []byte) [hashSize]byte {
	var b [1 + 2*hashSize]byte
	b[0] = 0x01
	copy(b[1:], left)
	copy(b[1+hashSize:], right)
	return sha256.Sum256(b[:])
}

// batchMessage is what the batch signature signs.
func batchMessage(kid *keyID, root *[hashSize]byte) [len(batchLabel) + kidSize + hashSize]byte {
	var m [len(batchLabel) + kidSize + hashSize]byte
	n := copy(m[:], batchLabel)
	n += copy(m[n:], kid[:])
	copy(m[n:], root[:])
	return m
}

// rootFromPath recomputes the root of the tree whose leaf, position byte and
// audit path a token carries. pos must be 1<<(len(path)/32) | directions
// (splitToken ensures it).
func rootFromPath(leaf [hashSize]byte, pos byte, path []byte) [hashSize]byte {
	node := leaf
	for j := 0; len(path) >= hashSize; j++ {
		if pos>>j&1 == 1 {
			node = nodeHash(path[:hashSize], node[:])
		} else {
			node = nodeHash(node[:], path[:hashSize])
		}
		path = path[hashSize:]
	}
	return node
}

// merkleTree holds every level of a batch's tree, leaves first, root last.
// It is immutable once built and shared by the tokens of the batch.
type merkleTree struct {
	levels [][][hashSize]byte
}

func buildTree(leaves [][hashSize]byte) *merkleTree {
	t := &merkleTree{levels: [][][hashSize]byte{leaves}}
	for cur := leaves; len(cur) > 1; {
		next := make([][hashSize]byte, (len(cur)+1)/2)
		for i := 0; i+1 < len(cur); i += 2 {
			next[i/2] = nodeHash(cur[i][:], cur[i+1][:])
		}
		if len(cur)%2 == 1 {
			next[len(next)-1] = cur[len(cur)-1]
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t
}

func (t *merkleTree) root() *[hashSize]byte { return &t.levels[len(t.levels)-1][0] }

// appendPath appends the audit path of leaf i to b and returns the position
// byte that goes with it.
func (t *merkleTree) appendPath(b []byte, i int) ([]byte, byte) {
	var dirs byte
	depth := 0
	for _, level := range t.levels[:len(t.levels)-1] {
		switch {
		case i%2 == 1:
			b = append(b, level[i-1][:]...)
			dirs |= 1 << depth
			depth++
		case i+1 < len(level):
			b = append(b, level[i+1][:]...)
			depth++
		default: // last node of an odd level: promoted, no sibling
		}
		i /= 2
	}
	return b, 1<<depth | dirs
}

// signReq is one token waiting for its batch signature.
type signReq struct {
	leaf  [hashSize]byte
	ready chan struct{} // buffered (1): the request is signed, or must lead, or may stop collecting
	lead  []*signReq    // set when this request must sign this batch

	// Results, shared read-only by the batch.
	sig   []byte
	tree  *merkleTree // nil for a batch of one
	index int
}

var signReqs = sync.Pool{New: func() any { return &signReq{ready: make(chan struct{}, 1)} }}

// batcher is a key's group signer.
type batcher struct {
	mu    sync.Mutex
	busy  bool // a signature is being made, a leader collects, or a leader is being woken
	queue []*signReq
	// load is loadedSignatures after a signature that covered more than
	// one token or left tokens waiting, and counts down with each lonely
	// one: while it is not zero the node is busy, and a leader that finds
	// the signer idle may collect company before signing.
	load int

	// collecting is the leader while it collects, nil otherwise. A Mint
	// that queues meanwhile wakes it (through its ready channel) when the
	// batch is full or nothing else can join. timer is the collecting
	// leader's deadline; it belongs to the batcher and is used with mu held.
	collecting *signReq
	timer      *time.Timer
	sched      [1]metrics.Sample // see othersRunning; used with mu held

	// Statistics, for tests and benchmarks.
	signatures, tokens uint64
}

// loadedSignatures is how many lonely signatures in a row end the
// collecting of idle leaders. A boolean (one) drops out of it too easily.
const loadedSignatures = 8

// collectBudget bounds how long a collecting leader waits for company (the
// latency a batch may add under load). At the AssumeRole load of a 2-core
// node (wrk, 32 connections) 300µs gives about 10 tokens per signature,
// 100µs about 7 and 500µs about 14; a millisecond starves the closed loop
// (too many of its requests wait in one batch).
const collectBudget = 300 * time.Microsecond

// signBody signs a version 2 token body (version, key id, payload) and
// appends its audit path, position byte and batch signature. minting, if
// not nil, counts the Mints that have not reached the signer yet; sign
// decrements it.
func (k *ringKey) signBody(body []byte, minting *atomic.Int32) []byte {
	r := signReqs.Get().(*signReq)
	r.leaf = leafHash(body)
	k.sign(r, minting)
	body = r.appendProof(body)
	*r = signReq{ready: r.ready}
	signReqs.Put(r)
	return body
}

// appendProof appends the audit path, position byte and batch signature of
// a signed request.
func (r *signReq) appendProof(body []byte) []byte {
	if r.tree == nil {
		body = append(body, 1)
	} else {
		var pos byte
		body, pos = r.tree.appendPath(body, r.index)
		body = append(body, pos)
	}
	return append(body, r.sig...)
}

// sign gets r signed: at once if the key's signer is idle (after
// collecting company if the node is loaded), otherwise with the next batch.
func (k *ringKey) sign(r *signReq, minting *atomic.Int32) {
	b := &k.batch
	b.mu.Lock()
	if minting != nil {
		minting.Add(-1)
	}
	var signed int
	if !b.busy {
		b.busy = true
		if b.load == 0 || !b.collect(r, minting) {
			b.mu.Unlock()
			k.signBatch([]*signReq{r})
			signed = 1
		} else {
			n := min(len(b.queue), maxBatch-1)
			batch := make([]*signReq, 1, 1+n)
			batch[0] = r
			batch = append(batch, b.queue[:n]...)
			b.take(n)
			b.mu.Unlock()
			k.signBatch(batch)
			signed = len(batch)
		}
	} else {
		b.queue = append(b.queue, r)
		if c := b.collecting; c != nil && (len(b.queue) >= maxBatch-1 || !b.more(minting)) {
			b.collecting = nil
			c.ready <- struct{}{}
		}
		b.mu.Unlock()
		<-r.ready
		if r.lead == nil {
			return // signed by a leader, which has handed off
		}
		batch := r.lead
		r.lead = nil
		k.signBatch(batch)
		signed = len(batch)
	}
	k.handOff(signed)
}

// more reports whether more Mints may join a batch soon: some are in
// flight (between Manager.Mint and the signer), or goroutines wait for a
// CPU, which may be on their way to Mint. (Counting running goroutines too
// gives a few more tokens per signature under wrk, but makes leaders wait
// for unrelated work, such as a GC worker, on a node that is not
// saturated.) The read takes about 60ns. Callers hold b.mu.
func (b *batcher) more(minting *atomic.Int32) bool {
	if minting != nil && minting.Load() > 0 {
		return true
	}
	if b.sched[0].Name == "" {
		b.sched[0].Name = "/sched/goroutines/runnable:goroutines"
	}
	metrics.Read(b.sched[:])
	s := b.sched[0].Value
	return s.Kind() == metrics.KindUint64 && s.Uint64() > 0
}

// collect makes the leader r of a loaded signer wait for company, and
// reports whether it did. Callers hold b.mu; it returns with b.mu held.
func (b *batcher) collect(r *signReq, minting *atomic.Int32) bool {
	if !b.more(minting) {
		return false
	}
	if b.timer == nil {
		b.timer = time.NewTimer(collectBudget)
	} else {
		b.timer.Reset(collectBudget)
	}
	b.collecting = r
	b.mu.Unlock()
	select {
	case <-r.ready: // full, or nobody else to wait for
	case <-b.timer.C:
	}
	b.mu.Lock()
	if b.collecting == r {
		b.collecting = nil
	} else {
		select { // woken as the timer fired
		case <-r.ready:
		default:
		}
	}
	b.timer.Stop()
	return true
}

// handOff ends a signature of signed tokens: the signer goes idle if nobody
// is waiting, or the oldest waiter is woken to sign the queue (up to
// maxBatch).
func (k *ringKey) handOff(signed int) {
	b := &k.batch
	b.mu.Lock()
	b.signatures++
	b.tokens += uint64(signed)
	if signed > 1 || len(b.queue) > 0 {
		b.load = loadedSignatures
	} else if b.load > 0 {
		b.load--
	}
	if len(b.queue) == 0 {
		b.busy = false
		b.mu.Unlock()
		return
	}
	n := min(len(b.queue), maxBatch)
	batch := make([]*signReq, n)
	copy(batch, b.queue)
	b.take(n)
	b.mu.Unlock()
	batch[0].lead = batch
	batch[0].ready <- struct{}{}
}

// take removes the first n requests from the queue. Callers hold b.mu.
func (b *batcher) take(n int) {
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
}

// signBatch signs batch with one signature, fills in every request's result
// and wakes all but the first, which is the caller's.
func (k *ringKey) signBatch(batch []*signReq) {
	if len(batch) == 1 {
		msg := batchMessage(&k.id, &batch[0].leaf)
		batch[0].sig = ed25519.Sign(k.priv, msg[:])
		return
	}
	leaves := make([][hashSize]byte, len(batch))
	for i, r := range batch {
		leaves[i] = r.leaf
	}
	t := buildTree(leaves)
	msg := batchMessage(&k.id, t.root())
	sig := ed25519.Sign(k.priv, msg[:])
	for i, r := range batch {
		r.sig, r.tree, r.index = sig, t, i
	}
	for _, r := range batch[1:] {
		r.ready <- struct{}{}
	}
}

// verifyBatch checks the batch signature of a version 2 envelope with k.
// Roots of batches of more than one token are remembered in roots (which
// may be nil), together with their signature, so that the other tokens of
// the batch cost no Ed25519 verification.
func verifyBatch(k *ringKey, roots *rootCache, e *envelope) bool {
	root := rootFromPath(leafHash(e.signed), e.pos, e.path)
	cacheable := roots != nil && len(e.path) > 0
	if cacheable && roots.has(k, &root, e.sig) {
		return true
	}
	msg := batchMessage(&k.id, &root)
	if !ed25519.Verify(k.pub, msg[:], e.sig) {
		return false
	}
	if cacheable {
		roots.put(k, &root, e.sig)
	}
	return true
}

// DefaultRootCacheSize is the number of verified batch roots a Manager or
// Verifier remembers (unless its token cache is disabled).
const DefaultRootCacheSize = 1024

// rootCache is a bounded, sharded LRU of verified batch roots keyed by key
// id and root. An entry holds the key it was verified with, so a key that is
// revoked or replaced invalidates its roots, and the signature, so that a
// token with the right root but any other signature bytes is still rejected.
type rootCache struct {
	l *lru[rootID, *rootEntry]
}

type rootID struct {
	kid  keyID
	root [hashSize]byte
}

func (id rootID) shard() byte { return id.root[0] }

type rootEntry struct {
	key *ringKey
	sig [sigSize]byte
}

// newRootCache returns a cache of about size roots, or nil for size <= 0.
func newRootCache(size int) *rootCache {
	if size <= 0 {
		return nil
	}
	return &rootCache{l: newLRU[rootID, *rootEntry](size)}
}

func (c *rootCache) has(k *ringKey, root *[hashSize]byte, sig []byte) bool {
	e := c.l.get(&rootID{k.id, *root})
	return e != nil && e.key == k && subtle.ConstantTimeCompare(e.sig[:], sig) == 1
}

func (c *rootCache) put(k *ringKey, root *[hashSize]byte, sig []byte) {
	e := &rootEntry{key: k}
	copy(e.sig[:], sig)
	c.l.put(&rootID{k.id, *root}, e)
}
