package msgpack

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectors are JSON values ({"$bin": base64} for binary) covering every
// format notepack.io picks.
var vectors = []string{
	`null`, `true`, `false`,
	`0`, `1`, `127`, `128`, `255`, `256`, `65535`, `65536`, `4294967295`, `4294967296`, `9007199254740991`,
	`-1`, `-32`, `-33`, `-128`, `-129`, `-32768`, `-32769`, `-2147483648`, `-2147483649`, `-9007199254740991`,
	`1.5`, `-0.25`, `3.0`, `1e-300`,
	`""`, `"a"`, `"` + strings.Repeat("x", 31) + `"`, `"` + strings.Repeat("x", 32) + `"`, `"` + strings.Repeat("y", 255) + `"`,
	`"` + strings.Repeat("z", 256) + `"`, `"` + strings.Repeat("w", 65536) + `"`, `"é✓😀"`,
	`[]`, `[1,"a",[null]]`, `[` + strings.Repeat(`0,`, 15) + `0]`, `[` + strings.Repeat(`0,`, 65535) + `0]`,
	`{}`, `{"b":1,"a":2}`, `{"nested":{"k":[{"x":null}]}}`,
	`{"$bin":""}`, `{"$bin":"AAEC/f7/"}`, `{"$bin":"` + base64.StdEncoding.EncodeToString(make([]byte, 256)) + `"}`,
	`{"$bin":"` + base64.StdEncoding.EncodeToString(make([]byte, 65536)) + `"}`,
	`["socket.io",{"type":2,"data":["ev","x",{"$bin":"AQI="},{"b":{"$bin":"AwQ="}}],"nsp":"/"},{"rooms":["r"],"except":[],"flags":{"volatile":true}}]`,
}

// toTree converts a vector to a tree, $bin objects becoming []byte.
func toTree(t *testing.T, js string) any {
	t.Helper()
	v, err := FromJSON([]byte(js), nil)
	if err != nil {
		t.Fatalf("%.40s: %v", js, err)
	}
	var fix func(any) any
	fix = func(v any) any {
		switch x := v.(type) {
		case Map:
			if b, ok := x.Get("$bin"); ok && len(x) == 1 {
				raw, _ := base64.StdEncoding.DecodeString(b.(string))
				return raw
			}
			for i := range x {
				x[i].Value = fix(x[i].Value)
			}
		case []any:
			for i := range x {
				x[i] = fix(x[i])
			}
		}
		return v
	}
	return fix(v)
}

// TestMsgpackMatchesNotepack encodes the vectors with notepack.io (in
// node) and with this package: the bytes must be identical, and decoding
// notepack's bytes must give the original value.
func TestMsgpackMatchesNotepack(t *testing.T) {
	_, err := exec.LookPath("node")
	require(t, err == nil, "node not installed")
	dir := filepath.Join("../..", "e2e", "js")
	_, err = os.Stat(filepath.Join(dir, "node_modules", "notepack.io"))
	require(t, err == nil, "notepack.io not installed (npm ci in e2e/js)")

	cmd := exec.Command("node", filepath.Join(dir, "cluster", "notepack.mjs"))
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("[" + strings.Join(vectors, ",") + "]")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("notepack.mjs: %v\n%s", err, stderr.String())
	}
	var hexes []string
	if err := json.Unmarshal(out, &hexes); err != nil || len(hexes) != len(vectors) {
		t.Fatalf("notepack.mjs output: %v (%d values)", err, len(hexes))
	}
	for i, js := range vectors {
		want, _ := hex.DecodeString(hexes[i])
		tree := toTree(t, js)
		got, err := Append(nil, tree)
		if err != nil {
			t.Fatalf("%.60s: %v", js, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%.60s:\n got %.80x\nwant %.80x", js, got, want)
			continue
		}
		back, err := Decode(want)
		if err != nil {
			t.Fatalf("%.60s: decode: %v", js, err)
		}
		if !reflect.DeepEqual(back, tree) {
			t.Errorf("%.60s: decoded %#.200v, want %#.200v", js, back, tree)
		}
	}
}

// TestMsgpackLargeIntegral: notepack.io writes integral numbers of 2^63
// and more as a garbled uint64; they are written as float64 here, which
// notepack decodes exactly.
func TestMsgpackLargeIntegral(t *testing.T) {
	b, err := Append(nil, 1e300)
	if err != nil || hex.EncodeToString(b) != "cb7e37e43c8800759c" {
		t.Fatalf("1e300 -> %x %v", b, err)
	}
}

func TestMsgpackDecodeExtensions(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want any
	}{
		{"d40000", nil}, // notepack's undefined
		{"d6ff00000000", "1970-01-01T00:00:00.000Z"},         // timestamp 32
		{"d7ff0000000000000001", "1970-01-01T00:00:01.000Z"}, // timestamp 64
		{"c7010500", nil}, // unknown ext: skipped
		// notepack 2.x (socket.io-msgpack-parser): ArrayBuffers and typed
		// arrays as ext type 0, Dates as fixext 8 type 0 (milliseconds).
		{"c70300090807", []byte{9, 8, 7}},
		{"c700 00", []byte{}},
		{"c8010000" + strings.Repeat("ab", 256), bytes.Repeat([]byte{0xab}, 256)},
		{"c90000000200" + "0102", []byte{1, 2}},
		{"d700000000000000 03e8", "1970-01-01T00:00:01.000Z"},
		{"d700ffffffff fffffc18", "1969-12-31T23:59:59.000Z"},
		{"d700 00000198 a1b2c3d4", time.UnixMilli(0x198a1b2c3d4).UTC().Format("2006-01-02T15:04:05.000Z")},
		{"ca3fc00000", 1.5}, // float32
		{"cfffffffffffffffff", uint64(1<<64 - 1)},
	} {
		b, _ := hex.DecodeString(strings.ReplaceAll(tt.in, " ", ""))
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v %v, want %#v", tt.in, got, err, tt.want)
		}
	}
	// Integer map keys become strings, as JavaScript object keys are.
	got, err := Decode([]byte{0x81, 0x01, 0xa1, 'x'})
	if err != nil || !reflect.DeepEqual(got, Map{{"1", "x"}}) {
		t.Errorf("int key: %#v %v", got, err)
	}
}

func TestMsgpackRejectsMalformed(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, MaxDepth+2)
	for name, in := range map[string][]byte{
		"empty":          {},
		"truncated str":  {0xa5, 'a'},
		"truncated bin":  {0xc6, 0xff, 0xff, 0xff, 0xff, 1},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge map":       {0xdf, 0x7f, 0xff, 0xff, 0xff},
		"trailing":       {0xc0, 0xc0},
		"reserved byte":  {0xc1},
		"deep":           append(deep, 0xc0),
		"bad key":        {0x81, 0xc0, 0xc0},
		"truncated ext":  {0xd7, 0xff, 0},
		"truncated uint": {0xcf, 1},
	} {
		if v, err := Decode(in); err == nil {
			t.Errorf("%s: accepted as %#v", name, v)
		}
	}
}

// TestArgsRoundTrip: Socket.IO arguments (JSON with placeholders) survive
// the trip through MessagePack with key order and binary intact.
func TestArgsRoundTrip(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {}, {0xff}}
	in := `["ev",{"z":1,"a":[{"_placeholder":true,"num":0}],"m":{"_placeholder":true,"num":2}},{"_placeholder":true,"num":1},1.25,-7,"é\n\"",null,true,{"_placeholder":true,"num":9}]`
	tree, err := FromJSON([]byte(in), atts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Append(nil, tree)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var gotAtts [][]byte
	js, err := AppendJSON(nil, back, &gotAtts)
	if err != nil {
		t.Fatal(err)
	}
	// Attachments are renumbered in order of appearance; an out-of-range
	// placeholder stays a plain object.
	want := `["ev",{"z":1,"a":[{"_placeholder":true,"num":0}],"m":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":2},1.25,-7,"é\n\"",null,true,{"_placeholder":true,"num":9}]`
	if string(js) != want {
		t.Fatalf("got  %s\nwant %s", js, want)
	}
	if !reflect.DeepEqual(gotAtts, [][]byte{{1, 2, 3}, {0xff}, {}}) {
		t.Fatalf("attachments %x", gotAtts)
	}
}

func FuzzMsgpackDecode(f *testing.F) {
	for _, s := range []string{"93a7656d697474657283a47479706502a46461746192a3616c6c2aa36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490", "d40000", "c40100"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes converts to JSON and encodes again.
		if _, err := AppendJSON(nil, v, new([][]byte)); err != nil {
			t.Fatal(err)
		}
		if _, err := Append(nil, v); err != nil {
			t.Fatal(err)
		}
	})
}

// require skips when a tool is missing, or fails under CI=true (as
// internal/testkit/testserver.Require, which this package cannot import: the app
// it starts imports this package).
func require(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("CI=true and a prerequisite is missing: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}
