package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// exactCases are inputs that reach every branch: keys with escapes and invalid UTF-8,
// folded keys, duplicates at every depth, empty containers, white space everywhere,
// scalars of every kind, the sections limit, and text that is not JSON.
var exactCases = []string{
	`{}`, `[]`, `1`, `"x"`, `null`, ` { "a" : [ 1 , 2 , { } , [ ] ] , "b" : true } `,
	`{"schemaVersion":"1","sections":{"a":{},"b":{"x":[1,2,{"y":null}]}}}`,
	`{"schemaVersion":"1","sections":{"a":{"k":1,"k":2}}}`,
	`{"schemaVersion":"1","sections":{"a":{"x":[{"y":{"k":1,"k":1}}]}}}`,
	`{"schemaVersion":"1","Sections":{}}`,
	`{"schemaVersion":"1","ſections":{}}`,
	`{"schemaVersion":"1","\u017fections":{}}`,
	`{"schemaVersion":"1","sections":{},"\u0073ections":{}}`,
	`{"schemaVersion":"1","sections":{},"subject":{"\u212aey":1,"name":"x","NAME":"y"}}`,
	"{\"schemaVersion\":\"1\",\"sections\":{\"a\xff\":{},\"a\xfe\":{}}}",
	`{"schemaVersion":"1","sections":{"a\"b":{},"a\"b":{}}}`,
	`{"schemaVersion":"1","sections":{"a\/b":{},"a/b":{}}}`,
	`{"schemaVersion":"1","sections":{"a~b/c":{"q":1,"q":2}}}`,
	`{"schemaVersion":"1","problems":[{"section":"a","error":{"ErrNo":"E"}}],"sections":{}}`,
	`{"schemaVersion":"1","sections":{"s1":{},"s2":{},"s3":{}}}`,
	`{"schemaVersion":-1.5e+3,"hostname":"h","HOSTNAME":"i"}`,
	`{"a":1,"a":2`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{"a":tru}`, `{`, ``, `"\u12"`, "{\"a\":\"\x01\"}",
	`{"schemaVersion":"1","sections":{"a":{}}} trailing`,
}

func init() {
	// Objects past the short list of keys seenKeys keeps before its map: a duplicate, a
	// folded twin and a folded field among many keys.
	var many []string
	for n := range 20 {
		many = append(many, fmt.Sprintf(`"k%d":%d`, n, n))
	}
	body := strings.Join(many, ",")
	exactCases = append(exactCases,
		`{"schemaVersion":"1","sections":{"big":{`+body+`,"k3":1}}}`,
		`{"schemaVersion":"1","sections":{"big":{`+body+`,"K3":1}}}`,
		`{"schemaVersion":"1",`+body+`,"hostname":"a","HOSTNAME":"b","sections":{}}`,
		`{"schemaVersion":"1",`+body+`,"Hostname":"a","sections":{}}`,
		`{"schemaVersion":"1",`+body+`,"k19":"again","sections":{}}`,
		`{"schemaVersion":"1",`+body+`,"sections":{}}`)
}

func sameVerdict(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// The scanner gives the token walker's verdict (the same KeyError, word for word, or
// none) on every valid JSON text, for every type the check is run against; on text that
// is not JSON it may stop anywhere, since the decoder refuses that text anyway.
func TestScannerAgreesWithTheTokenWalker(t *testing.T) {
	inputs := append([]string{}, exactCases...)
	for _, f := range []string{"testdata/v1-web-a.json", "../../plugins/all/testdata/calico-a.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
		// The same report with one key doubled deep inside, and one folded.
		if i := strings.Index(string(b), `"mtu":`); i > 0 {
			inputs = append(inputs, string(b[:i])+`"mtu":1,`+string(b[i:]), string(b[:i])+`"MTU":1,`+string(b[i:]))
		}
	}
	limit := &memberLimit{"sections", 2, errors.New("too many sections")}
	for _, in := range inputs {
		for _, typ := range []reflect.Type{nil, reflect.TypeFor[Report](), reflect.TypeFor[map[string]any]()} {
			for _, lim := range []*memberLimit{nil, limit} {
				want := checkExactTokens(context.Background(), []byte(in), typ, lim)
				got := checkExactLimit(context.Background(), []byte(in), typ, lim)
				if json.Valid([]byte(in)) && !sameVerdict(got, want) {
					t.Errorf("%.80q as %v (limit %v): scanner %v, token walker %v", in, typ, lim != nil, got, want)
				}
			}
		}
	}
}

func FuzzExactAgrees(f *testing.F) {
	for _, c := range exactCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := checkExactLimit(context.Background(), []byte(in), reflect.TypeFor[Report](), nil)
		if !json.Valid([]byte(in)) {
			return
		}
		if want := checkExactTokens(context.Background(), []byte(in), reflect.TypeFor[Report](), nil); !sameVerdict(got, want) {
			t.Errorf("scanner %v, token walker %v", got, want)
		}
	})
}

// The check alone on a real report, the scanner against the walker it replaced.
func BenchmarkCheckExact(b *testing.B) {
	raw, err := os.ReadFile("../../plugins/all/testdata/calico-a.json")
	if err != nil {
		b.Fatal(err)
	}
	typ := reflect.TypeFor[Report]()
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if err := checkExactLimit(context.Background(), raw, typ, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tokens", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if err := checkExactTokens(context.Background(), raw, typ, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
