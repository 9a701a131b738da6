package config

// The document's node tree, read beside the decoding: where each key is,
// which Go type its value decodes to, and how to word a problem with it
// in the file's terms.

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// A field is one value of the document: the top level, a key's value or
// a list item.
type field struct {
	path   string       // key path such as "namespaces[0].app"; "" for the top level
	parent string       // key path of the mapping or list holding it
	line   int          // line of the key, or of the list item
	key    *yaml.Node   // nil for the top level and list items
	val    *yaml.Node   // the value, aliases followed
	t      reflect.Type // what the value decodes to; nil for an unknown key
	in     reflect.Type // the struct holding the key
	dup    bool         // a repeated key (the decoder keeps the first)
}

func (f field) item() bool { return f.key == nil && f.path != "" }

// index lists the fields of a document in document order.
type index struct {
	fields []field
	keys   map[string]map[string]bool // the keys of each mapping, by its path
	odd    map[string]bool            // the paths of the mappings with an unknown key
}

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

func newIndex(root *yaml.Node) *index {
	x := &index{keys: map[string]map[string]bool{}, odd: map[string]bool{}}
	x.fields = append(x.fields, field{line: root.Line, val: deref(root), t: configType})
	x.walk(root, "", configType)
	return x
}

// walk adds the fields under n, which decodes to t. It follows the Go
// types, which have no cycles, so alias loops end here too.
func (x *index) walk(n *yaml.Node, path string, t reflect.Type) {
	n = deref(n)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		if x.keys[path] == nil {
			x.keys[path] = map[string]bool{}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := deref(n.Content[i]), n.Content[i+1]
			if k.ShortTag() == "!!merge" { // the merged mappings' keys count as this one's
				if v = deref(v); v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						x.walk(m, path, t)
					}
				} else {
					x.walk(v, path, t)
				}
				continue
			}
			f := field{path: join(path, k.Value), parent: path, line: n.Content[i].Line, key: k, val: deref(v), in: t}
			f.t = fieldType(t, k.Value)
			f.dup = x.keys[path][k.Value]
			x.keys[path][k.Value] = true
			x.fields = append(x.fields, f)
			x.odd[path] = x.odd[path] || f.t == nil
			if f.t != nil && !f.dup {
				x.walk(v, f.path, f.t)
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, it := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			x.fields = append(x.fields, field{path: p, parent: path, line: it.Line, val: deref(it), t: t.Elem()})
			x.walk(it, p, t.Elem())
		}
	}
}

// lines returns the line of each key path (the first, for a repeated key).
func (x *index) lines() map[string]int {
	m := make(map[string]int, len(x.fields))
	for _, f := range x.fields[1:] {
		if !f.dup {
			m[f.path] = f.line
		}
	}
	return m
}

// fieldType returns the type of the field of struct t tagged key, or nil.
func fieldType(t reflect.Type, key string) reflect.Type {
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return t.Field(i).Type
		}
	}
	return nil
}

// allowedKeys lists the keys of struct t.
func allowedKeys(t reflect.Type) string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// The decoder's messages. A type is named as Go prints it: "config.Log",
// "[]string", or for a type decoded by its UnmarshalYAML method, the
// lower-case copy of it the method decodes into ("config.log").
var (
	lineRE     = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	mismatchRE = regexp.MustCompile("(?s)^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	unknownRE  = regexp.MustCompile(`(?s)^field (.*) not found in type (\S+)$`)
	dupRE      = regexp.MustCompile(`(?s)^mapping key (".*") already defined at line \d+$`)
)

// translate turns one of the decoder's messages into an *Error about the
// field it names (by line, key, value and type), and returns that field's
// position in x.fields. done marks the fields already named. If no field
// fits, the message stays as the decoder wrote it, under the key path of
// the field before it (-1).
func (x *index) translate(msg string, done map[int]bool) (int, *Error) {
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	near := ""
	for i, f := range x.fields {
		if f.line <= line {
			near = f.path
		}
		if done[i] {
			continue
		}
		if m := mismatchRE.FindStringSubmatch(msg); m != nil { // "cannot unmarshal !!str `yes` into bool"
			if f.key != nil && f.key.Line == line && f.key.Kind != yaml.ScalarNode && m[3] == "string" {
				return i, &Error{Line: line, Key: f.parent, Msg: "invalid key: want a string, got " + describe(f.key)}
			}
			if f.val.Line == line && f.t != nil && sameType(f.t, m[3]) && sameNode(f.val, m[1], m[2]) {
				return i, &Error{Line: line, Key: f.path, Msg: mismatch(f)}
			}
		}
		if f.key == nil || f.key.Line != line {
			continue
		}
		if m := unknownRE.FindStringSubmatch(msg); m != nil && f.t == nil && f.key.Value == m[1] && sameType(f.in, m[2]) {
			return i, &Error{Line: line, Key: f.parent, Msg: unknownKey(f)}
		}
		if m := dupRE.FindStringSubmatch(msg); m != nil && f.dup && strconv.Quote(f.key.Value) == m[1] {
			return i, &Error{Line: line, Key: f.parent, Msg: "duplicate key " + quote(f.key.Value) + " (first at line " + strconv.Itoa(x.first(f)) + ")"}
		}
	}
	return -1, &Error{Line: line, Key: near, Msg: msg}
}

// sameNode reports whether the decoder would describe n with tag and
// value (the first 7 bytes and "..." for a longer one).
func sameNode(n *yaml.Node, tag, value string) bool {
	if prefix, cut := strings.CutSuffix(value, "..."); cut && len(n.Value) > 10 {
		return n.ShortTag() == tag && strings.HasPrefix(n.Value, prefix)
	}
	return n.ShortTag() == tag && n.Value == value
}

func sameType(t reflect.Type, name string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.EqualFold(t.String(), name)
}

// first returns the line where the key f repeats first appears.
func (x *index) first(f field) int {
	for _, g := range x.fields {
		if g.path == f.path {
			return g.line
		}
	}
	return 0
}

func unknownKey(f field) string {
	return "unknown key " + quote(f.key.Value) + " (allowed: " + allowedKeys(f.in) + ")"
}

// mismatch says what is wrong with a value the decoder refused.
func mismatch(f field) string {
	v := f.val
	number := v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!int" || v.ShortTag() == "!!float")
	switch {
	case f.path == "":
		return "top level: want a mapping of keys, got " + describe(v)
	case f.t == durationType && number:
		return "invalid duration " + clip(v.Value) + ": missing unit (want e.g. 25s)"
	case f.t == durationType && v.ShortTag() == "!!str":
		return "invalid duration " + quote(v.Value) + " (want e.g. 25s)"
	case isInt(f.t) && number && isDigits(v.Value):
		return "integer " + clip(v.Value) + " out of range"
	}
	return "want " + want(f) + ", got " + describe(v)
}

// check reports what the decoder lets through but Switchboard refuses.
func (x *index) check(f field, add func(key, msg string)) {
	v := f.val
	switch {
	case f.t == nil: // a key the decoder skips without a word, such as ~
		add(f.parent, unknownKey(f))
	case isNull(v) && !(f.t.Kind() == reflect.Pointer || f.t.Kind() == reflect.Interface || f.t.Kind() == reflect.Struct && !f.item()):
		// Null would keep the default, or leave a list item empty.
		add(f.path, "missing value (want "+want(f)+")")
	case isInt(f.t) && v.ShortTag() == "!!float": // would be truncated
		add(f.path, "want "+want(f)+", got "+describe(v))
	case f.t.Kind() == reflect.Float64 && v.Kind == yaml.ScalarNode:
		var n float64
		if v.Decode(&n) != nil || n != n || n > 1e15 || n < -1e15 {
			add(f.path, "invalid number "+clip(v.Value))
		}
	case v.Kind == yaml.MappingNode && !x.odd[f.path]: // an unknown key may be the missing one, misspelled
		for _, msg := range missingKeys(f.t, x.keys[f.path]) {
			add(f.path, msg)
		}
	}
}

func isInt(t reflect.Type) bool {
	return t != durationType && (t.Kind() == reflect.Int || t.Kind() == reflect.Int64)
}

// want describes the value f wants, for messages.
func want(f field) string {
	t := f.t
	switch {
	case f.path == "static_dir":
		return `a string; use "" for none`
	case t == durationType:
		return "a duration such as 25s"
	case t.Kind() == reflect.Slice:
		return listWants[t.Elem()]
	case t.Kind() == reflect.Struct && f.item():
		return "a mapping with keys " + allowedKeys(t)
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Pointer:
		return "a mapping"
	case t.Kind() == reflect.Bool:
		return "a boolean (true or false)"
	case isInt(t):
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a string"
}

var listWants = map[reflect.Type]string{
	reflect.TypeFor[string]():         "a list of strings",
	reflect.TypeFor[Namespace]():      "a list of {name, app} mappings",
	reflect.TypeFor[Token]():          "a list of {sub, token} mappings",
	reflect.TypeFor[RelayRule]():      "a list of {event, to} mappings",
	reflect.TypeFor[ServerSideRule](): "a list of {event, reply} or {event, to: backend} mappings",
}

// missingKeys returns the problems with the keys (has) of a mapping of
// type t.
func missingKeys(t reflect.Type, has map[string]bool) []string {
	var msgs []string
	switch t {
	case reflect.TypeFor[Namespace]():
		switch {
		case has["name"] && has["pattern"]:
			msgs = append(msgs, `keys "name" and "pattern" exclude each other (a namespace, or a pattern of namespaces)`)
		case !has["name"] && !has["pattern"]:
			msgs = append(msgs, `missing key "name" (or "pattern")`)
		}
		if !has["app"] && !has["auth"] && !has["relay"] && !has["rooms"] && !has["backend"] && !has["server_side"] {
			msgs = append(msgs, `missing key "app"`)
		}
	case reflect.TypeFor[RelayRule]():
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] {
			msgs = append(msgs, `missing key "to" (want `+orList(relayTargets)+`)`)
		}
	case reflect.TypeFor[ServerSideRule]():
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] && !has["reply"] {
			msgs = append(msgs, `missing key "reply" (the answer) or "to" (backend)`)
		}
	}
	return msgs
}

// deref follows alias nodes.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the kind and value of n for "got ..." messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "string " + quote(n.Value)
		case "!!int":
			return "integer " + clip(n.Value)
		case "!!float":
			return "number " + clip(n.Value)
		case "!!bool":
			return "boolean " + clip(n.Value)
		case "!!null":
			return "null"
		default:
			return "value " + quote(n.Value) + " tagged " + clip(n.Tag)
		}
	}
	return "an unsupported value"
}

// clip shortens s for use in messages.
func clip(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "..."
}

// quote clips and quotes s.
func quote(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:limit])) + "..."
}

func isDigits(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789_") == ""
}
