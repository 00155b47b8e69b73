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
	"unsafe"
)

// Group signing. Version 2 tokens are signed in batches, the way a database
// commits transactions in groups: a batch holds up to batchTarget tokens and
// gets one Ed25519 signature over the root of a Merkle tree of the tokens.
//
// A Mint on an idle node signs at once, alone. A Mint on a loaded node (a
// signature is being made, or recent signatures had company: load) opens a
// batch and waits for company; the Mints that arrive meanwhile join it. The
// Mint that brings the batch to batchTarget closes it and signs it at once,
// on its own goroutine, then wakes the others; so does a Mint that joins when
// nothing else can join soon (batcher.more: no other Mint is in flight between
// Manager.Mint and the signer, and no goroutine waits for a CPU), so a
// process whose goroutines all wait in Mint (a benchmark) never waits for a
// timer. The opener closes the batch itself when nobody has joined it for
// collectGap (the Mints that were coming have come), or when collectBudget
// has passed.
// Batches are independent: a new one opens while others are being signed,
// and signatures run in parallel on as many CPUs as there are.
//
// The size of a batch trades CPU against waiting. A signature costs about
// 25µs; a batch of 16 makes that about 1.6µs a token, with an audit path of
// 4 hashes. Larger batches save little more CPU but keep more requests
// waiting, which a closed loop of clients (each waits for its answer before
// sending the next request) pays for in idle CPU. Under wrk at 32
// connections on 2 cores (AssumeRole's requests per second as a share of a
// bare handler's; noise about 2 points):
//
//	batches closed only by a 300µs timer (before)  49%  (10-30 tokens; a fifth of the CPU idle)
//	target  8, budget 300µs                        53-55%
//	target 16, budget 300µs                        56%   (13 tokens a signature, 60% closed by the timer)
//	target 16, budget 600µs                        58-59% (16 tokens, 5% closed by the timer)
//	target 24 or 32, budget 1ms                    51-55%
//	target 16, budget 600µs, gap 100µs             62%   (14.5 tokens; every round 61.6-62.7%)
//
// Without the gap, throughput was bimodal: for seconds at a time, batches of
// 15 waited out the budget for a 16th client that was in the other half
// (see collectGap), and rounds ranged from 54% to 64%.
//
// Go's timers are precise to the microsecond while the process is busy, but
// a process with every P idle sleeps in the network poller in whole
// milliseconds. Collecting never starts in that state (more reports false),
// and the joining Mints end it when the process goes idle through them; if
// the process goes idle through other work, a batch can wait up to about 1ms
// instead of collectBudget, once, at the end of a burst.
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
	ready chan struct{} // buffered (1): the request's batch is signed
	timer *time.Timer   // the opener's collect deadline, kept with the pooled request

	// Results, shared read-only by the batch.
	sig   []byte
	tree  *merkleTree // nil for a batch of one
	index int
}

var signReqs = sync.Pool{New: func() any { return &signReq{ready: make(chan struct{}, 1)} }}

// batcher is a key's group signer.
type batcher struct {
	mu sync.Mutex
	// open is the batch that collects company, nil if none; open[0] opened
	// it. A closed batch belongs to the Mint that signs it.
	open []*signReq
	// signing counts the signatures being made.
	signing int
	// load is loadedSignatures after a signature that covered more than one
	// token, and counts down with each lonely one: while it is not zero (or
	// a signature is being made) the node is busy, and a Mint that finds no
	// open batch opens one.
	load  int
	sched [1]metrics.Sample // see more; used with mu held

	// target, budget and gap override batchTarget, collectBudget and
	// collectGap, and forceMore makes more report true (tests).
	target      int
	budget, gap time.Duration
	forceMore   bool

	// Statistics, for tests and benchmarks.
	signatures, tokens, collects uint64
}

// loadedSignatures is how many lonely signatures in a row end the
// collecting of Mints that find no open batch. A boolean (one) drops out of
// it too easily.
const loadedSignatures = 8

// batchTarget is the size at which a batch closes (see above).
const batchTarget = 16

// collectBudget bounds how long an open batch waits for company (the
// latency a batch may add under load). Under load a batch fills well before
// (see above); more closes it early when nothing else can join.
const collectBudget = 600 * time.Microsecond

// collectGap closes an open batch that nobody joined for that long: the
// Mints that were coming have come. At the AssumeRole rate of a loaded
// 2-core node (35,000 a second) about 3.5 arrive in 100µs. Without it,
// under wrk at 32 connections with batches of 16, a batch that got 15 of
// the two halves of the clients waited out the whole budget for a 16th that
// was in the other half, often for seconds on end (a third fewer requests
// per second in those seconds).
const collectGap = 100 * time.Microsecond

// signBody signs a version 2 token body (version, key id, payload) and
// appends its audit path, position byte and batch signature. minting, if
// not nil, counts the Mints that have not reached the signer yet; sign
// decrements it.
func (k *ringKey) signBody(body []byte, minting *atomic.Int32) []byte {
	r := signReqs.Get().(*signReq)
	r.leaf = leafHash(body)
	k.sign(r, minting)
	body = r.appendProof(body)
	*r = signReq{ready: r.ready, timer: r.timer}
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

// sign gets r signed: at once and alone on an idle node, otherwise in a
// batch, which it joins, closes or opens.
func (k *ringKey) sign(r *signReq, minting *atomic.Int32) {
	b := &k.batch
	b.mu.Lock()
	if minting != nil {
		minting.Add(-1)
	}
	if b.open != nil {
		b.open = append(b.open, r)
		if len(b.open) >= b.targetSize() || !b.more(minting) {
			k.signBatch(b.close(), r) // unlocks
			return
		}
		b.mu.Unlock()
		<-r.ready
		return
	}
	if b.signing == 0 && b.load == 0 || !b.more(minting) {
		b.signing++
		k.signBatch([]*signReq{r}, r) // unlocks
		return
	}
	// Open a batch and wait for company: until it fills, until no Mint
	// has joined for collectGap, or until collectBudget has passed.
	b.open = make([]*signReq, 1, b.targetSize())
	b.open[0] = r
	b.collects++
	b.mu.Unlock()
	deadline := time.Now().Add(b.budgetTime())
	joined := 1
	for {
		if r.timer == nil {
			r.timer = time.NewTimer(b.gapTime())
		} else {
			r.timer.Reset(b.gapTime())
		}
		select {
		case <-r.ready: // closed and signed by the Mint that filled it
			r.timer.Stop()
			return
		case <-r.timer.C:
		}
		b.mu.Lock()
		if len(b.open) == 0 || b.open[0] != r {
			b.mu.Unlock()
			<-r.ready // closed by a Mint that joined as the timer fired
			return
		}
		if len(b.open) == joined || !time.Now().Before(deadline) {
			k.signBatch(b.close(), r) // unlocks
			return
		}
		joined = len(b.open)
		b.mu.Unlock()
	}
}

// close takes the open batch for signing. Callers hold b.mu.
func (b *batcher) close() []*signReq {
	batch := b.open
	b.open = nil
	b.signing++
	return batch
}

func (b *batcher) targetSize() int {
	if b.target > 0 {
		return min(b.target, maxBatch)
	}
	return batchTarget
}

func (b *batcher) gapTime() time.Duration {
	if b.gap > 0 {
		return b.gap
	}
	return collectGap
}

func (b *batcher) budgetTime() time.Duration {
	if b.budget > 0 {
		return b.budget
	}
	return collectBudget
}

// more reports whether more Mints may join a batch soon: some are in
// flight (between Manager.Mint and the signer), or goroutines wait for a
// CPU, which may be on their way to Mint. (Counting running goroutines too
// makes batches wait for unrelated work, such as a GC worker, on a node that
// is not saturated.) The read takes about 60ns. Callers hold b.mu.
func (b *batcher) more(minting *atomic.Int32) bool {
	if b.forceMore || minting != nil && minting.Load() > 0 {
		return true
	}
	if b.sched[0].Name == "" {
		b.sched[0].Name = "/sched/goroutines/runnable:goroutines"
	}
	metrics.Read(b.sched[:])
	s := b.sched[0].Value
	return s.Kind() == metrics.KindUint64 && s.Uint64() > 0
}

// signBatch signs a closed batch with one signature, fills in every
// request's result and wakes all but self, the caller's. It is called with
// b.mu held and b.signing counting it (see close), and unlocks b.mu.
func (k *ringKey) signBatch(batch []*signReq, self *signReq) {
	b := &k.batch
	b.mu.Unlock()
	if len(batch) == 1 {
		msg := batchMessage(&k.id, &batch[0].leaf)
		batch[0].sig = ed25519.Sign(k.priv, msg[:])
	} else {
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
	}
	b.mu.Lock()
	b.signing--
	b.signatures++
	b.tokens += uint64(len(batch))
	if len(batch) > 1 {
		b.load = loadedSignatures
	} else if b.load > 0 {
		b.load--
	}
	b.mu.Unlock()
	for _, r := range batch {
		if r != self {
			r.ready <- struct{}{}
		}
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

// DefaultRootCacheBytes bounds the verified batch roots a Manager or
// Verifier remembers (unless its token cache is disabled): 256 KiB, about a
// thousand roots.
const DefaultRootCacheBytes = 256 << 10

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

type rootEntry struct {
	key *ringKey
	sig [sigSize]byte
}

// newRootCache returns a cache of at most maxBytes of roots, or nil for
// maxBytes <= 0.
func newRootCache(maxBytes int) *rootCache {
	if maxBytes <= 0 {
		return nil
	}
	return &rootCache{l: newLRU[rootID, *rootEntry](maxBytes, func(*rootEntry) int { return obj(int(unsafe.Sizeof(rootEntry{}))) })}
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
