package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the number of problems reported by one Parse.
const maxErrors = 20

// Load reads the YAML file at path and parses it with Parse, using path as
// the file name in error messages. A read failure is returned wrapped (so
// errors.Is(err, fs.ErrNotExist) works); content problems are Errors.
func Load(path string, apps []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, apps)
}

// Parse decodes YAML data over Default() and validates the result.
// filename is only used in error messages. apps lists the registered
// application names that namespaces may refer to; if apps is nil, namespace
// apps are not checked. On failure the error is an Errors value.
func Parse(data []byte, filename string, apps []string) (*Config, error) {
	c := Default()
	d := &decoder{file: filename, lines: map[string]int{}}
	d.document(data, c)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	if errs := validate(c, apps, filename, d.lines); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// decoder walks a yaml.Node tree into a Config, collecting errors and the
// line of every key path it sees (for validation errors).
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int
}

func (d *decoder) errorf(line int, key, format string, args ...any) {
	d.errs.add(&Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// add appends e, or a final "too many errors" once maxErrors is reached.
func (es *Errors) add(e *Error) {
	switch {
	case len(*es) < maxErrors:
		*es = append(*es, e)
	case len(*es) == maxErrors:
		*es = append(*es, &Error{File: e.File, Line: e.Line, Msg: "too many errors"})
	}
}

var yamlErrRE = regexp.MustCompile(`(?s)^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError converts an error from the YAML parser into an *Error.
func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	d.errorf(line, "", "invalid YAML: %s", msg)
}

func (d *decoder) document(data []byte, c *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err != io.EOF {
			d.syntaxError(err)
		}
		return // empty stream: defaults
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		d.syntaxError(err)
		return
	default:
		d.errorf(extra.Line, "", "multiple YAML documents; want exactly one")
		return
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return
	}
	root := doc.Content[0]
	if isNull(deref(root)) {
		return // "~" or "null": defaults
	}
	d.fields(root, "", reflect.ValueOf(c).Elem())
}

// The decoding below is driven by the structs' yaml tags, so a key is
// spelled once, in its field's tag. yaml.v3 decodes tagged structs itself,
// but words its errors in Go terms ("cannot unmarshal !!str `yes` into
// bool", "field listn not found in type config.Config") without the key's
// path, and Node.Decode has no KnownFields. Walking the node tree here
// reports each problem (up to maxErrors) with its key path, its line, what
// was found and what would be right.

var durationType = reflect.TypeFor[time.Duration]()

// value decodes n (at key path path) into v, according to v's type.
// omitempty is the field's yaml flag: an empty list then means none.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value, omitempty bool) {
	if v.Type() == durationType {
		d.duration(n, path, v.Addr().Interface().(*time.Duration))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if want, ok := nullHints[path]; ok && isNull(deref(n)) {
			d.errorf(n.Line, path, "missing value (want %s)", want)
			return
		}
		d.str(n, path, v.Addr().Interface().(*string))
	case reflect.Bool:
		d.boolean(n, path, v.Addr().Interface().(*bool))
	case reflect.Int:
		d.int(n, path, v.Addr().Interface().(*int))
	case reflect.Int64:
		d.int64(n, path, v.Addr().Interface().(*int64))
	case reflect.Float64:
		d.number(n, path, v.Addr().Interface().(*float64))
	case reflect.Interface: // any YAML value, such as a server-side reply
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n.Line, path, "%v", err)
		}
	case reflect.Struct:
		d.fields(n, path, v)
	case reflect.Pointer:
		d.section(n, path, v)
	case reflect.Slice:
		d.list(n, path, v)
		if omitempty && v.Len() == 0 {
			// An empty list means the same as none: nil lets the config
			// survive a marshal/parse round trip unchanged.
			v.SetZero()
		}
	default:
		panic("config: no decoding for " + v.Type().String() + " at " + path)
	}
}

// nullHints are the messages of keys whose null deserves a hint.
var nullHints = map[string]string{"static_dir": `a string; use "" for none`}

// fields decodes the mapping n into the struct v, matching keys to the
// fields' yaml tags, and returns the keys it found.
func (d *decoder) fields(n *yaml.Node, path string, v reflect.Value) map[string]bool {
	t := v.Type()
	has := map[string]bool{}
	d.mapping(n, path, func(key string, val *yaml.Node, p string) bool {
		for i := range t.NumField() {
			name, flags, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == key {
				has[key] = true
				d.value(val, p, v.Field(i), strings.Contains(flags, "omitempty"))
				return true
			}
		}
		return false
	})
	return has
}

// section decodes an optional section (a pointer to a struct). Naming it
// turns it on, with its defaults for the keys not given; null turns the
// top-level switches off again.
func (d *decoder) section(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type().Elem()
	if isNull(deref(n)) && sectionsOffWhenNull[t] {
		v.SetZero()
		return
	}
	s := reflect.New(t)
	if def, ok := sectionDefaults[t]; ok {
		s = reflect.ValueOf(def())
	}
	d.fields(n, path, s.Elem())
	v.Set(s)
}

var sectionsOffWhenNull = map[reflect.Type]bool{
	reflect.TypeFor[Cookie]():       true,
	reflect.TypeFor[EngineIOEcho](): true,
	reflect.TypeFor[RawWebSocket](): true,
	reflect.TypeFor[API]():          true,
}

// sectionDefaults make the value an optional section starts from (the
// zero value if it has no entry).
var sectionDefaults = map[reflect.Type]func() any{
	reflect.TypeFor[Cookie]():       func() any { return DefaultCookie() },
	reflect.TypeFor[EngineIOEcho](): func() any { return &EngineIOEcho{Path: DefaultEngineIOEchoPath} },
	reflect.TypeFor[RawWebSocket](): func() any { return defaultRawWebSocket() },
	reflect.TypeFor[Auth]():         func() any { return defaultAuth() },
	reflect.TypeFor[Rooms]():        func() any { return defaultRooms() },
	reflect.TypeFor[Backend]():      func() any { return defaultBackend() },
}

// listWants describe the lists for messages; nullItem is set where a null
// item is an error.
var listWants = map[reflect.Type]struct{ list, nullItem string }{
	reflect.TypeFor[string]():         {"a list of strings", ""},
	reflect.TypeFor[Namespace]():      {"a list of {name, app} mappings", "a mapping with keys name and app"},
	reflect.TypeFor[Token]():          {"a list of {sub, token} mappings", ""},
	reflect.TypeFor[RelayRule]():      {"a list of {event, to} mappings", ""},
	reflect.TypeFor[ServerSideRule](): {"a list of {event, reply} or {event, to: backend} mappings", ""},
}

// list decodes the sequence n into the slice v, replacing its items.
func (d *decoder) list(n *yaml.Node, path string, v reflect.Value) {
	et := v.Type().Elem()
	want := listWants[et]
	items, ok := d.sequence(n, path, want.list)
	if !ok {
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		e := reflect.New(et).Elem()
		switch {
		case et.Kind() != reflect.Struct:
			d.value(it, p, e, false)
		case isNull(deref(it)) && want.nullItem != "":
			d.errorf(it.Line, p, "missing value (want %s)", want.nullItem)
			continue
		default:
			has := d.fields(it, p, e)
			if deref(it).Kind == yaml.MappingNode {
				for _, msg := range missingKeys(e.Addr().Interface(), has) {
					d.errorf(it.Line, p, "%s", msg)
				}
			}
		}
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

// missingKeys returns the problems with the keys a list item has.
func missingKeys(item any, has map[string]bool) []string {
	var msgs []string
	switch it := item.(type) {
	case *Namespace:
		switch {
		case has["name"] && has["pattern"]:
			msgs = append(msgs, `keys "name" and "pattern" exclude each other (a namespace, or a pattern of namespaces)`)
		case !has["name"] && !has["pattern"]:
			msgs = append(msgs, `missing key "name" (or "pattern")`)
		}
		if !has["app"] && !it.HasRules() {
			msgs = append(msgs, `missing key "app"`)
		}
	case *RelayRule:
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] {
			msgs = append(msgs, `missing key "to" (want `+orList(relayTargets)+`)`)
		}
	case *ServerSideRule:
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] && !has["reply"] {
			msgs = append(msgs, `missing key "reply" (the answer) or "to" (backend)`)
		}
	}
	return msgs
}
