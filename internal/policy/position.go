package policy

// Position is a place in a policy document. Offset counts bytes from 0;
// Line and Column count from 1, lines ending at '\n' and columns in
// characters (Unicode code points), as the IAM policy simulator reports
// statement positions.
type Position struct {
	Offset int
	Line   int
	Column int
}

// Span is where a statement sits in the document it was parsed from: Start
// is its opening brace, End is just past its closing brace.
type Span struct {
	Start, End Position
}

// Span returns where statement i (from 0, as Match.Index counts) sits in
// the document p was parsed from, and false when p has no statement i.
func (p *Policy) Span(i int) (Span, bool) {
	spans := p.spans
	if spans == nil {
		spans = p.shapeSpan
	}
	if i < 0 || i >= len(spans) {
		return Span{}, false
	}
	return spans[i], true
}

// statementSpans locates the statements (objects, in document order) in
// doc, a valid UTF-8 document, in one pass over it.
func statementSpans(doc string, stmts []*node) []Span {
	spans := make([]Span, len(stmts))
	w := posWalker{doc: doc, pos: Position{Line: 1, Column: 1}}
	for i, st := range stmts {
		spans[i] = Span{Start: w.to(st.start), End: w.to(st.end)}
	}
	return spans
}

// posWalker converts increasing byte offsets of doc into positions.
type posWalker struct {
	doc string
	pos Position
}

func (w *posWalker) to(off int) Position {
	for ; w.pos.Offset < off; w.pos.Offset++ {
		switch c := w.doc[w.pos.Offset]; {
		case c == '\n':
			w.pos.Line++
			w.pos.Column = 1
		case c < 0x80 || c >= 0xC0: // not a UTF-8 continuation byte
			w.pos.Column++
		}
	}
	return w.pos
}
