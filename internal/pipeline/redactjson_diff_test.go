package pipeline

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/pipeline/redacttest"
)

// The compiled codecs (redactcodec.go) are held to the reflection encoder
// they replaced (redactjson_oracle_test.go), byte for byte, over fixed
// types that cover each feature and over random types built with
// reflect.StructOf, filled with random values.

type (
	myString string
	myInt    int16
	myBytes  []byte
	stringer time.Duration // a non-empty interface's dynamic type
	diffTree struct {
		Name     string `json:"name"`
		Children []*diffTree
		Parent   *diffTree `json:"-"`
		Any      any
	}
	diffCreds struct {
		AccessKeyID     string    `xml:"AccessKeyId"`
		SecretAccessKey string    `sensitive:"true"`
		SessionToken    string    `xml:"SessionToken" sensitive:"true"`
		Seed            []byte    `sensitive:"true"`
		Nested          *diffTree `sensitive:"true"`
		Expiration      time.Time
	}
	DiffEmbedded struct {
		Zeta  string
		Alpha int
		Name  string // also a field of diffOuter: the later one wins
	}
	diffEmbeddedHidden struct{ Hidden string }
	DiffEmbeddedPtr    struct{ P string }
	diffOuter          struct {
		Name string
		DiffEmbedded
		diffEmbeddedHidden
		*DiffEmbeddedPtr
		Credentials *diffCreds
		Creds       diffCreds
		Tags        []struct{ Key, Value string }
		Size        *int
		Seed        []byte
		Named       myBytes
		MyS         myString
		MyI         myInt
		Skip        string `json:"-"`
		Path        string `xml:"A>B>LeafName"`
		Flag        bool
		Ratio       float64
		Tiny        float32
		Attrs       map[string]string
		Named2      map[myString]*diffCreds
		Any         any
		Str         fmt.Stringer
		Err         error
		List        []any
		Array       [3]*int
		Empty       [0]string
		Tree        *diffTree
		Code        string                `sensitive:"true"`
		Secret      int                   `sensitive:"true"`
		SecretF     float64               `sensitive:"true"`
		SecretS     struct{ A, B string } `sensitive:"true"`
		u           string
		U8          uint8
		UP          uintptr
		C           complex128
		Ch          chan int
		Fn          func()
		Zero        struct{ A string }
		When        time.Time
		WhenPtr     *time.Time
		Dur         time.Duration
		I8          int8
		U16         uint16
		U32         uint32
		U64         uint64
		U           uint
		I           int
		I32         int32
		AnyPtr      *any
		PtrPtr      **string
		Matrix      [][]string
	}
	// Direct types: an interface holds the value itself.
	directStruct struct{ P *diffCreds }
	directArray  [1]*diffCreds
)

func (s stringer) String() string { return "stringer" }

// ptrStringer is a direct type that implements a non-empty interface.
type ptrStringer struct {
	Name  string
	Token string `sensitive:"true"`
}

func (p *ptrStringer) String() string { return p.Name }

var fixedTypes = []reflect.Type{
	reflect.TypeFor[diffOuter](), reflect.TypeFor[diffTree](), reflect.TypeFor[diffCreds](), reflect.TypeFor[directStruct](),
	reflect.TypeFor[directArray](), reflect.TypeFor[map[string]any](), reflect.TypeFor[[]any](), reflect.TypeFor[string](),
	reflect.TypeFor[myString](), reflect.TypeFor[float64](), reflect.TypeFor[time.Time](), reflect.TypeFor[[]byte](),
	reflect.TypeFor[[2]string](), reflect.TypeFor[chan int](), reflect.TypeFor[func()](), reflect.TypeFor[bool](),
	reflect.TypeFor[struct{}](), reflect.TypeFor[[]struct{}](), reflect.TypeFor[map[string]struct{}](),
}

// typeGen builds random types.
type typeGen struct {
	r    *rand.Rand
	made []reflect.Type
}

var genNames = []string{"Name", "RoleARN", "RoleArn", "MFASerial", "ARN", "X", "Id", "ID", "AccessKeyID", "Éclair", "A1", "URL", "Tags", "Credentials", "Value", "Key"}

var genTags = []string{
	"", "", "", `json:"name"`, `json:"-"`, `json:",omitempty"`, `json:"roleArn"`, `xml:"A>B>Leaf"`, `xml:"Arn,attr"`, `xml:"-"`,
	`sensitive:"true"`, `sensitive:"true"`, `xml:"SessionToken" sensitive:"true"`, `json:"x" xml:"y"`, `sensitive:"false"`, `json:"<&>"`, `json:"a\u2028"`,
}

var leafTypes = []reflect.Type{
	reflect.TypeFor[string](), reflect.TypeFor[string](), reflect.TypeFor[myString](), reflect.TypeFor[bool](), reflect.TypeFor[int](),
	reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](), reflect.TypeFor[myInt](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
	reflect.TypeFor[uintptr](), reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[complex64](),
	reflect.TypeFor[time.Time](), reflect.TypeFor[time.Duration](), reflect.TypeFor[[]byte](), reflect.TypeFor[myBytes](),
	reflect.TypeFor[any](), reflect.TypeFor[fmt.Stringer](), reflect.TypeFor[error](), reflect.TypeFor[chan int](),
	reflect.TypeFor[func()](), reflect.TypeFor[*diffTree](), reflect.TypeFor[diffCreds](), reflect.TypeFor[*diffCreds](),
}

func (g *typeGen) typ(depth int) reflect.Type {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return leafTypes[g.r.IntN(len(leafTypes))]
	}
	switch g.r.IntN(8) {
	case 0:
		return reflect.PointerTo(g.typ(depth - 1))
	case 1:
		return reflect.SliceOf(g.typ(depth - 1))
	case 2:
		return reflect.ArrayOf(g.r.IntN(3), g.typ(depth-1))
	case 3:
		return reflect.MapOf(reflect.TypeFor[string](), g.typ(depth-1))
	case 4:
		if len(g.made) > 0 {
			return g.made[g.r.IntN(len(g.made))]
		}
	}
	return g.structType(depth - 1)
}

func (g *typeGen) structType(depth int) reflect.Type {
	var fields []reflect.StructField
	seen := map[string]bool{}
	for range g.r.IntN(7) {
		name := genNames[g.r.IntN(len(genNames))]
		if seen[name] {
			continue
		}
		f := reflect.StructField{Name: name, Type: g.typ(depth), Tag: reflect.StructTag(genTags[g.r.IntN(len(genTags))])}
		switch g.r.IntN(8) {
		case 0: // embedded
			if st := g.structType(depth - 1); depth > 0 {
				f.Type, f.Anonymous, f.Tag = st, true, ""
				if g.r.IntN(3) == 0 {
					f.Type = reflect.PointerTo(st)
				}
			}
		case 1: // unexported
			f.Name, f.PkgPath = "x"+name, "p"
		}
		if seen[f.Name] {
			continue
		}
		seen[name], seen[f.Name] = true, true
		fields = append(fields, f)
	}
	t := reflect.StructOf(fields)
	g.made = append(g.made, t)
	return t
}

// interfaceValues are what interface fields get: each kind of dynamic type
// (direct and indirect, typed nils, non-empty interfaces' types), and
// values of the types made so far.
func (g *typeGen) interfaceValues() []func(f *redacttest.Filler) any {
	return []func(f *redacttest.Filler) any{
		func(*redacttest.Filler) any { return "str<>" },
		func(*redacttest.Filler) any { return 42 },
		func(*redacttest.Filler) any { return math.NaN() },
		func(*redacttest.Filler) any { return (*diffCreds)(nil) },
		func(*redacttest.Filler) any { return stringer(time.Second) },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[*ptrStringer]()).Interface() },
		func(*redacttest.Filler) any { return errors.New("an error") },
		func(*redacttest.Filler) any { return map[string]int{"b": 1, "a": 2} },
		func(*redacttest.Filler) any { return func() {} },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[directStruct]()).Interface() },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[directArray]()).Interface() },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[diffCreds]()).Interface() },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[*diffTree]()).Interface() },
		func(f *redacttest.Filler) any { return f.New(reflect.TypeFor[[]any]()).Interface() },
		func(f *redacttest.Filler) any {
			if len(g.made) == 0 {
				return nil
			}
			v := f.New(reflect.PointerTo(g.made[f.R.IntN(len(g.made))]))
			return v.Interface()
		},
		func(f *redacttest.Filler) any {
			if len(g.made) == 0 {
				return nil
			}
			return f.New(g.made[f.R.IntN(len(g.made))]).Interface()
		},
	}
}

// paths lists wire-name paths into values of t (and v's dynamic values),
// plus some that lead nowhere.
func paths(t reflect.Type, v any, depth int) [][]string {
	out := [][]string{{}, {"nosuchfield"}, {"name", "nosuch"}}
	var walk func(t reflect.Type, prefix []string, depth int)
	walk = func(t reflect.Type, prefix []string, depth int) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if depth == 0 || t.Kind() != reflect.Struct || t == timeType {
			return
		}
		p := planOf(t)
		for name, i := range p.byName {
			path := append(slices.Clone(prefix), name)
			out = append(out, path)
			walk(p.fields[i].typ, path, depth-1)
		}
	}
	if t != nil {
		walk(t, nil, depth)
	}
	// Names under interfaces are in Redact's view of v.
	var walkView func(x any, prefix []string, depth int)
	walkView = func(x any, prefix []string, depth int) {
		m, ok := x.(map[string]any)
		if !ok || depth == 0 {
			return
		}
		for k, y := range m {
			path := append(slices.Clone(prefix), k)
			out = append(out, path)
			walkView(y, path, depth-1)
		}
	}
	walkView(Redact(v), nil, depth)
	return out
}

// checkSame holds AppendRedactedJSON and StringAt to the oracle for x, and
// checks that no secret of f shows.
func checkSame(t *testing.T, x any, f *redacttest.Filler) {
	t.Helper()
	want := oracleAppendRedactedJSON([]byte("prefix"), x)
	got := AppendRedactedJSON([]byte("prefix"), x)
	if string(got) != string(want) {
		t.Fatalf("%T:\n got %s\nwant %s", x, got, want)
	}
	for _, s := range f.Secrets {
		if strings.Contains(string(got), s) {
			t.Fatalf("%T: secret %q in %s", x, s, got)
		}
	}
	for _, path := range paths(reflect.TypeOf(x), x, 4) {
		got, want := StringAt(path...).Of(x), oracleRedactedString(x, path...)
		if got != want {
			t.Fatalf("%T: StringAt(%q).Of = %q, want %q", x, path, got, want)
		}
		if slices.Contains(f.Secrets, got) {
			t.Fatalf("%T: StringAt(%q).Of is a secret", x, path)
		}
	}
}

func checkGenerated(t *testing.T, seed uint64, data []byte, types, values int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &typeGen{r: r}
	f := &redacttest.Filler{R: r, Data: data, Interfaces: g.interfaceValues()}
	all := slices.Clone(fixedTypes)
	for range types {
		all = append(all, g.typ(3))
	}
	for _, typ := range all {
		for range values {
			checkSame(t, f.New(reflect.PointerTo(typ)).Interface(), f) // maybe nil
			v := reflect.New(typ)
			f.Fill(v.Elem())
			checkSame(t, v.Interface(), f)
			checkSame(t, v.Elem().Interface(), f)
			x := v.Elem().Interface()
			checkSame(t, &x, f) // a pointer to an interface
		}
	}
}

func TestRedactedJSONMatchesOracle(t *testing.T) {
	t.Parallel()
	types, values := 300, 6
	if testing.Short() {
		types, values = 40, 3
	}
	for seed := range uint64(4) {
		checkGenerated(t, seed, nil, types, values)
	}
}

func FuzzRedactedJSONMatchesOracle(f *testing.F) {
	f.Add(uint64(1), []byte("arn:aws:iam::123456789012:role/x"))
	f.Add(uint64(7), []byte("\xff\xfe<\u2028>\"\\"))
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		checkGenerated(t, seed, data, 3, 2)
	})
}

// A secret set in a sensitive field never shows, wherever the field sits,
// whatever its type.
func TestRedactedJSONHidesSecrets(t *testing.T) {
	t.Parallel()
	secret := "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tree := &diffTree{Name: secret}
	o := &diffOuter{Credentials: &diffCreds{AccessKeyID: "ASIA", SecretAccessKey: secret, SessionToken: secret, Seed: []byte(secret), Nested: tree},
		Creds: diffCreds{SecretAccessKey: secret}, Code: secret, Secret: 123456, SecretF: math.Copysign(0, -1), SecretS: struct{ A, B string }{B: secret},
		u: secret, Any: &diffCreds{SessionToken: secret}, List: []any{diffCreds{SecretAccessKey: secret}}, Str: &ptrStringer{Token: secret},
		Named2: map[myString]*diffCreds{"k": {SessionToken: secret}}, Tree: &diffTree{Any: &diffCreds{Nested: tree}}}
	for _, x := range []any{o, *o, &o, directStruct{o.Credentials}, directArray{o.Credentials}, []any{o}, map[string]any{"o": o}} {
		b := AppendRedactedJSON(nil, x)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), "123456") {
			t.Errorf("%T: secret in %s", x, b)
		}
		if want := oracleAppendRedactedJSON(nil, x); string(b) != string(want) {
			t.Errorf("%T:\n got %s\nwant %s", x, b, want)
		}
		if n := strings.Count(string(b), hiddenJSON); n == 0 {
			t.Errorf("%T: no field Hidden in %s", x, b)
		}
	}
	b := AppendRedactedJSON(nil, o)
	// -0.0 is zero to reflect.Value.IsZero: SecretF is left out.
	for _, key := range []string{`"code":` + hiddenJSON, `"secret":` + hiddenJSON, `"secretS":` + hiddenJSON, `"secretAccessKey":` + hiddenJSON} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s not in %s", key, b)
		}
	}
	if strings.Contains(string(b), `"secretF"`) {
		t.Errorf("secretF (-0) in %s", b)
	}
	for _, path := range [][]string{{"code"}, {"credentials", "sessionToken"}, {"credentials", "nested"}, {"credentials", "nested", "name"}, {"any", "sessionToken"}, {"secretS", "b"}, {"str", "token"}} {
		if got := StringAt(path...).Of(o); got != Hidden {
			t.Errorf("StringAt(%q).Of = %q, want Hidden", path, got)
		}
	}
	if got := StringAt("u").Of(o); got != "" {
		t.Errorf("unexported field read: %q", got)
	}
	if appendJSONString(nil, Hidden)[0] != '"' || string(appendJSONString(nil, Hidden)) != hiddenJSON {
		t.Errorf("hiddenJSON = %s", hiddenJSON)
	}
}

// The runtime stores exactly the pointer-shaped types in an interface's
// data word; codecs must agree, or a direct value would be read through
// its own bits.
func TestCodecDirect(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ    reflect.Type
		direct bool
	}{
		{reflect.TypeFor[*int](), true}, {reflect.TypeFor[map[string]int](), true}, {reflect.TypeFor[chan int](), true},
		{reflect.TypeFor[func()](), true}, {reflect.TypeFor[directStruct](), true}, {reflect.TypeFor[directArray](), true},
		{reflect.TypeFor[struct{ A struct{ P *int } }](), true}, {reflect.TypeFor[int](), false}, {reflect.TypeFor[string](), false},
		{reflect.TypeFor[struct{}](), false}, {reflect.TypeFor[[0]*int](), false}, {reflect.TypeFor[struct{ P, Q *int }](), false},
		{reflect.TypeFor[[]*int](), false}, {reflect.TypeFor[time.Time](), false}, {reflect.TypeFor[[2]*int](), false},
	} {
		if got := codecFor(c.typ).direct; got != c.direct {
			t.Errorf("%v: direct = %v, want %v", c.typ, got, c.direct)
		}
	}
}

// Types met for the first time by many goroutines at once compile once
// each, and every goroutine writes the same bytes (run with -race).
func TestRedactedJSONConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(99, 100))
	g := &typeGen{r: r}
	f := &redacttest.Filler{R: r, Interfaces: g.interfaceValues()}
	var vals []any
	for range 50 {
		vals = append(vals, f.New(reflect.PointerTo(g.typ(3))).Interface())
	}
	want := make([]string, len(vals))
	for i, v := range vals {
		want[i] = string(oracleAppendRedactedJSON(nil, v))
	}
	at := StringAt("name")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range vals {
				i := (i + w*7) % len(vals)
				if got := AppendRedactedJSON(nil, vals[i]); string(got) != want[i] {
					t.Errorf("%d: got %s, want %s", i, got, want[i])
				}
				if got, want := at.Of(vals[i]), oracleRedactedString(vals[i], "name"); got != want {
					t.Errorf("%d: StringAt(name) = %q, want %q", i, got, want)
				}
			}
		})
	}
	wg.Wait()
}

// Once a type is compiled, encoding it and reading a path allocate
// nothing.
func TestRedactedJSONAllocs(t *testing.T) {
	in, out := benchAssumeRole()
	var params, response any = in, out
	buf := AppendRedactedJSON(AppendRedactedJSON(nil, params), response)
	at := StringAt("credentials", "accessKeyId")
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendRedactedJSON(AppendRedactedJSON(buf[:0], params), response)
		if at.Of(response) != "ASIAQWERTYUIOPASDFGH" {
			t.Fatal("accessKeyId")
		}
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
