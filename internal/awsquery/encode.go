package awsquery

import (
	"bytes"
	"encoding"
	"encoding/xml"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/xmlenc"
)

// TimeFormat is how time.Time values appear in results: ISO 8601 in UTC,
// with milliseconds only when they are not zero (2026-01-02T15:04:05Z,
// 2026-01-02T15:04:05.359Z), which every AWS SDK parses.
const (
	TimeFormat   = xmlenc.TimeFormat
	TimeFormatMS = xmlenc.TimeFormatMS
)

// FormatTime formats t as results carry it (see TimeFormat).
func FormatTime(t time.Time) string {
	var tmp [32]byte
	return string(xmlenc.AppendTime(tmp[:0], t))
}

// XMLAppender is implemented by result types that encode themselves without
// reflection. AppendXML appends the children of the {action}Result element
// (not the element itself) to b and returns the extended slice; it must
// produce exactly what WriteResult's reflective encoding of the value would
// (use internal/xmlenc for escaping and times), and it must accept a nil
// receiver (appending nothing, as a nil result encodes). WriteResult calls it
// instead of reflecting when result implements it.
type XMLAppender interface {
	AppendXML(b []byte) []byte
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// WriteResult writes a success response:
//
//	<{action}Response xmlns="{ns}"><{action}Result>...</{action}Result>
//	<ResponseMetadata><RequestId>{requestID}</RequestId></ResponseMetadata></{action}Response>
//
// with x-amzn-RequestId, Content-Type: text/xml and Date. result is a struct
// (or pointer to one) whose fields become children of {action}Result, with
// encoding/xml's struct tags: `xml:"Name"`, `xml:"Parent>Child"` (IAM lists
// are `xml:"Roles>member"`), `xml:",omitempty"`, `xml:"-"`; XMLName is
// ignored. Unlike encoding/xml, time.Time values render as FormatTime does
// (UTC ISO 8601; a zero time with omitempty is left out), and fields that
// share a parent path each get their own parent element. Nil pointers are
// omitted. A nil result writes an empty {action}Result. If result cannot be
// encoded, an InternalFailure error response is written instead.
func WriteResult(w http.ResponseWriter, ns, action, requestID string, result any) {
	buf := getBuf()
	defer putBuf(buf)
	buf.WriteString("<")
	buf.WriteString(action)
	buf.WriteString(`Response xmlns="`)
	escape(buf, ns)
	buf.WriteString(`"><`)
	buf.WriteString(action)
	buf.WriteString("Result>")
	if a, ok := result.(XMLAppender); ok {
		buf.Write(a.AppendXML(buf.AvailableBuffer()))
	} else if result != nil {
		v := reflect.ValueOf(result)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			if err := encodeFields(buf, v); err != nil {
				WriteError(w, ns, requestID, apierr.Internal(err))
				return
			}
		} else if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
			WriteError(w, ns, requestID, apierr.Internal(fmt.Errorf("awsquery: result %T is not a struct", result)))
			return
		}
	}
	buf.WriteString("</")
	buf.WriteString(action)
	buf.WriteString("Result><ResponseMetadata><RequestId>")
	escape(buf, requestID)
	buf.WriteString("</RequestId></ResponseMetadata></")
	buf.WriteString(action)
	buf.WriteString("Response>")
	write(w, http.StatusOK, requestID, buf.Bytes())
}

// WriteError writes an ErrorResponse:
//
//	<ErrorResponse xmlns="{ns}"><Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>
//
// with the code's HTTP status. An err that is not an *apierr.Error (anywhere
// in its chain) becomes InternalFailure (500) with a generic message; nothing
// of its text reaches the client, so the caller should log it.
func WriteError(w http.ResponseWriter, ns, requestID string, err error) {
	e, ok := apierr.As(err)
	if !ok || e.Code.Name == "" {
		e = apierr.Internal(err)
	}
	buf := getBuf()
	defer putBuf(buf)
	buf.WriteString(`<ErrorResponse xmlns="`)
	escape(buf, ns)
	buf.WriteString(`"><Error><Type>`)
	if e.Code.Receiver {
		buf.WriteString("Receiver")
	} else {
		buf.WriteString("Sender")
	}
	buf.WriteString("</Type><Code>")
	escape(buf, e.Code.Name)
	buf.WriteString("</Code><Message>")
	escape(buf, e.Message)
	buf.WriteString("</Message></Error><RequestId>")
	escape(buf, requestID)
	buf.WriteString("</RequestId></ErrorResponse>")
	status := e.Code.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	write(w, status, requestID, buf.Bytes())
}

// Canonical header keys (as http.CanonicalHeaderKey spells them), so that
// write can assign them without canonicalizing.
const (
	hdrContentType   = "Content-Type"
	hdrRequestID     = "X-Amzn-Requestid"
	hdrContentLength = "Content-Length"
)

// bufferedBody is the largest body that net/http holds back until the
// handler returns (its bufferBeforeChunkingSize); it then sends the body's
// Content-Length itself, and it adds Date to every answer. Both cost less
// that way than as entries of the header map, which net/http clones and
// sorts for every answer. A larger body gets its Content-Length from write,
// so that no answer is chunked.
const bufferedBody = 2048

func write(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	// One backing array for the values; each header gets a
	// capacity-bounded slice of it, so an Add by someone else reallocates
	// rather than overwriting a neighbour. Equivalent to h.Set for each.
	n := 2
	if len(body) > bufferedBody {
		n = 3
	}
	vals := make([]string, n)
	vals[0], vals[1] = "text/xml", requestID
	h[hdrContentType] = vals[0:1:1]
	h[hdrRequestID] = vals[1:2:2]
	if n == 3 {
		vals[2] = strconv.Itoa(len(body))
		h[hdrContentLength] = vals[2:3:3]
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// escape writes s escaped as xml.EscapeText does, appending in place.
func escape(buf *bytes.Buffer, s string) {
	buf.Write(xmlenc.AppendEscaped(buf.AvailableBuffer(), s))
}

// xfield is the encoding plan of one struct field.
type xfield struct {
	index     []int
	parents   []string
	name      string
	omitEmpty bool
}

var xplans sync.Map // reflect.Type -> []xfield

func xplanFor(t reflect.Type) []xfield {
	if v, ok := xplans.Load(t); ok {
		return v.([]xfield)
	}
	var fs []xfield
	var skip [][]int // embedded structs encoded as one element (or skipped): not their promoted fields
	for _, sf := range reflect.VisibleFields(t) {
		if slices.ContainsFunc(skip, func(p []int) bool {
			return len(sf.Index) > len(p) && slices.Equal(sf.Index[:len(p)], p)
		}) {
			continue
		}
		tag := sf.Tag.Get("xml")
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && (tag == "-" || name != "") {
			skip = append(skip, sf.Index)
		}
		if !sf.IsExported() || sf.Name == "XMLName" || tag == "-" {
			continue
		}
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				continue // VisibleFields lists the promoted fields
			}
		}
		if strings.Contains(opts, "attr") || strings.Contains(opts, "chardata") ||
			strings.Contains(opts, "innerxml") || strings.Contains(opts, "comment") {
			continue
		}
		f := xfield{index: sf.Index, name: sf.Name, omitEmpty: strings.Contains(opts, "omitempty")}
		if name != "" {
			parts := strings.Split(name, ">")
			f.parents, f.name = parts[:len(parts)-1], parts[len(parts)-1]
		}
		fs = append(fs, f)
	}
	v, _ := xplans.LoadOrStore(t, fs)
	return v.([]xfield)
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	xmlMarshalerType  = reflect.TypeFor[xml.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodeFields(buf *bytes.Buffer, v reflect.Value) error {
	for _, f := range xplanFor(v.Type()) {
		fv, err := v.FieldByIndexErr(f.index)
		if err != nil { // nil embedded pointer
			continue
		}
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		if isNil(fv) {
			continue
		}
		for _, p := range f.parents {
			buf.WriteString("<" + p + ">")
		}
		if err := encodeValue(buf, f.name, fv, 0); err != nil {
			return err
		}
		for i := len(f.parents) - 1; i >= 0; i-- {
			buf.WriteString("</" + f.parents[i] + ">")
		}
	}
	return nil
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		if v.Type() == timeType {
			t, _ := reflect.TypeAssert[time.Time](v)
			return t.IsZero()
		}
	}
	return false
}

func encodeValue(buf *bytes.Buffer, name string, v reflect.Value, depth int) error {
	if depth > 32 {
		return fmt.Errorf("awsquery: result nests too deeply at %s", name)
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	t := v.Type()
	if t == timeType {
		tm, _ := reflect.TypeAssert[time.Time](v) // unlike Interface, without allocating
		buf.Write(xmlenc.AppendTimeElement(buf.AvailableBuffer(), name, tm))
		return nil
	}
	// A predeclared type (string, int, bool, ...) has no methods, nor has a
	// pointer to it: most values need not be checked for marshalers.
	if t.Name() == "" || t.PkgPath() != "" {
		if t.Implements(xmlMarshalerType) || reflect.PointerTo(t).Implements(xmlMarshalerType) {
			enc := xml.NewEncoder(buf)
			if err := enc.EncodeElement(v.Interface(), xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
				return fmt.Errorf("awsquery: encode %s: %w", name, err)
			}
			return enc.Flush()
		}
		if t.Implements(textMarshalerType) {
			text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return fmt.Errorf("awsquery: encode %s: %w", name, err)
			}
			open(buf, name)
			_ = xml.EscapeText(buf, text)
			closeTag(buf, name)
			return nil
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		open(buf, name)
		if err := encodeFields(buf, v); err != nil {
			return err
		}
		closeTag(buf, name)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			open(buf, name)
			_ = xml.EscapeText(buf, v.Bytes())
			closeTag(buf, name)
			return nil
		}
		for i := range v.Len() {
			if err := encodeValue(buf, name, v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.String:
		open(buf, name)
		escape(buf, v.String())
		closeTag(buf, name)
	case reflect.Bool:
		open(buf, name)
		buf.WriteString(strconv.FormatBool(v.Bool()))
		closeTag(buf, name)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		open(buf, name)
		var tmp [24]byte
		buf.Write(strconv.AppendInt(tmp[:0], v.Int(), 10))
		closeTag(buf, name)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		open(buf, name)
		var tmp [24]byte
		buf.Write(strconv.AppendUint(tmp[:0], v.Uint(), 10))
		closeTag(buf, name)
	case reflect.Float32, reflect.Float64:
		open(buf, name)
		buf.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, t.Bits()))
		closeTag(buf, name)
	default:
		return fmt.Errorf("awsquery: cannot encode %s of type %s", name, t)
	}
	return nil
}

func open(buf *bytes.Buffer, name string) {
	buf.WriteByte('<')
	buf.WriteString(name)
	buf.WriteByte('>')
}

func closeTag(buf *bytes.Buffer, name string) {
	buf.WriteString("</")
	buf.WriteString(name)
	buf.WriteByte('>')
}
