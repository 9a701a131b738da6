package config

// The document's node tree, read beside the library's decoding: where each
// key is, the Go type its value decodes to, and how to word a problem with
// it in the file's terms.

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A field is one value of the document: the top level, a key's value or a
// list item.
type field struct {
	path, parent string       // key paths of the value ("" for the top level) and of what holds it
	line         int          // line of the key, or of the list item
	key, val     *yaml.Node   // key is nil for the top level and list items; val has its alias followed
	t, in        reflect.Type // what val decodes to (nil for an unknown key); the struct holding the key
	dup          bool         // a repeated key (the library keeps the first)
}

func (f field) item() bool { return f.key == nil && f.path != "" }

// index lists the fields of a document in document order, the keys of
// each mapping by its path, and the line of each key path.
type index struct {
	fields []field
	keys   map[string]map[string]bool // "" marks a mapping with an unknown key
	lines  map[string]int
}

var durationType = reflect.TypeFor[time.Duration]()

func newIndex(root *yaml.Node) *index {
	t := reflect.TypeFor[Config]()
	x := &index{fields: []field{{line: root.Line, val: deref(root), t: t}}, keys: map[string]map[string]bool{}, lines: map[string]int{}}
	x.walk(root, "", t)
	return x
}

// maxFields bounds the index: aliases can make a short document list
// billions of fields.
const maxFields = 100000

// walk adds the fields under n, which decodes to t. It follows the Go
// types, which have no cycles, so it ends on alias loops too.
func (x *index) walk(n *yaml.Node, path string, t reflect.Type) {
	if len(x.fields) >= maxFields {
		return
	}
	if n = deref(n); t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode {
		for i, it := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			x.fields = append(x.fields, field{path: p, parent: path, line: it.Line, val: deref(it), t: t.Elem()})
			x.lines[p] = it.Line
			x.walk(it, p, t.Elem())
		}
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return
	}
	keys := x.keys[path]
	if keys == nil {
		keys = map[string]bool{}
		x.keys[path] = keys
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.ShortTag() == "!!merge" { // the merged mappings' keys count as this one's
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				x.walk(m, path, t)
			}
			continue
		}
		f := field{path: strings.TrimPrefix(path+"."+k.Value, "."), parent: path, line: n.Content[i].Line, key: k, val: v, in: t, dup: keys[k.Value]}
		if j := slices.Index(keyNames(t), k.Value); j >= 0 {
			f.t = t.Field(j).Type
		}
		keys[k.Value], keys[""] = true, keys[""] || f.t == nil
		if x.fields = append(x.fields, f); !f.dup {
			x.lines[f.path] = f.line
		}
		if f.t != nil && !f.dup {
			x.walk(v, f.path, f.t)
		}
	}
}

// The library's messages. They name types as Go prints them ("[]string",
// "config.Log"; for a type decoded by its UnmarshalYAML method, the copy in
// lower case it decodes into, "config.cookie"), and abridge longer values
// to 7 bytes and "...".
var (
	lineRE     = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	mismatchRE = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	unknownRE  = regexp.MustCompile(`(?s)^field (.*) not found in type (\S+)$`)
	dupRE      = regexp.MustCompile(`(?s)^mapping key (".*") already defined at line (\d+)$`)
)

// translate turns one of the library's messages into an *Error about the
// field it is about (found by line, key, value and type), and returns that
// field's position in x.fields; done marks those already taken. If none
// fits, the message stays as it is, under the key path before it (-1).
func (x *index) translate(msg string, done map[int]bool) (int, *Error) {
	line, near := 0, ""
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	bad, unknown, dup := mismatchRE.FindStringSubmatch(msg), unknownRE.FindStringSubmatch(msg), dupRE.FindStringSubmatch(msg)
	for i, f := range x.fields {
		if f.line <= line {
			near = f.path
		}
		e := &Error{Line: line, Key: f.parent}
		switch {
		case done[i]:
		case bad != nil && f.val.Line == line && f.t != nil && sameType(f.t, bad[3]) && sameNode(f.val, bad[1], bad[2]):
			e.Key, e.Msg = f.path, mismatch(f)
		case f.key == nil || f.key.Line != line:
		case bad != nil && f.key.Kind != yaml.ScalarNode && bad[3] == "string":
			e.Msg = "invalid key: want a string, got " + describe(f.key)
		case unknown != nil && f.t == nil && f.key.Value == unknown[1] && sameType(f.in, unknown[2]):
			e.Msg = unknownKey(f)
		case dup != nil && f.dup && strconv.Quote(f.key.Value) == dup[1]:
			e.Msg = "duplicate key " + quote(f.key.Value) + " (first at line " + dup[2] + ")"
		}
		if e.Msg != "" {
			return i, e
		}
	}
	return -1, &Error{Line: line, Key: near, Msg: msg}
}

func sameNode(n *yaml.Node, tag, value string) bool {
	v := n.Value
	if len(v) > 10 {
		v = v[:7] + "..."
	}
	return n.ShortTag() == tag && v == value
}

func sameType(t reflect.Type, name string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.EqualFold(t.String(), name)
}

// check reports what the library lets through but Switchboard refuses.
func (x *index) check(f field, add func(key, msg string)) {
	v, k := f.val, f.t
	switch {
	case k == nil: // a key the library skips without a word, such as ~
		add(f.parent, unknownKey(f))
	case isNull(v) && !(k.Kind() == reflect.Pointer || k.Kind() == reflect.Interface || k.Kind() == reflect.Struct && !f.item()):
		// Null would keep the default, or leave a list item empty.
		add(f.path, "missing value (want "+want(f)+")")
	case isInt(k) && v.ShortTag() == "!!float": // the library would drop the decimals
		add(f.path, "want an integer, got "+describe(v))
	case k.Kind() == reflect.Float64 && v.Kind == yaml.ScalarNode:
		var n float64
		if v.Decode(&n) != nil || !(n >= -1e15 && n <= 1e15) {
			add(f.path, "invalid number "+clip(v.Value))
		}
	case v.Kind == yaml.MappingNode && x.keys[f.path] != nil && !x.keys[f.path][""]: // an unknown key may be the missing one misspelled
		for _, msg := range missingKeys(k, x.keys[f.path]) {
			add(f.path, msg)
		}
	}
}

func isInt(t reflect.Type) bool {
	return t != durationType && (t.Kind() == reflect.Int || t.Kind() == reflect.Int64)
}

// deref follows an alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }
