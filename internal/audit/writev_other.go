//go:build !unix

package audit

import "io"

// batchWriter writes a batch's lines, in order, one by one.
type batchWriter struct{ w io.Writer }

func newBatchWriter(w io.Writer) *batchWriter { return &batchWriter{w: w} }

func (b *batchWriter) write(lines [][]byte) error { return writeEach(b.w, lines) }
