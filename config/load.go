package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	d.root(root, c)
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
	r := []rune(s)
	return string(r[:limit]) + "..."
}

// quote clips and quotes s.
func quote(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:limit])) + "..."
}

// mapping iterates over the key/value pairs of the mapping n (at key path
// path), calling fn with each key, its value and the key path of the value.
// fn reports whether it knows the key. Unknown keys, duplicate keys and
// non-string keys are errors. A null n is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fn func(key string, v *yaml.Node, p string) bool) {
	line := n.Line
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		what := "want a mapping"
		if path == "" {
			what = "top level: want a mapping of keys"
		}
		d.errorf(line, path, "%s, got %s", what, describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kline := k.Line
		k = deref(k)
		if k.Kind != yaml.ScalarNode {
			d.errorf(kline, path, "invalid key: want a string, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errorf(kline, path, "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(kline, path, "duplicate key %s (first at line %d)", quote(k.Value), first)
			continue
		}
		seen[k.Value] = kline
		p := join(path, k.Value)
		if !fn(k.Value, v, p) {
			d.errorf(kline, path, "unknown key %s", quote(k.Value))
			continue
		}
		d.lines[p] = kline
	}
}

// scalar checks that n is a scalar with the given short tag. want describes
// the expected value for messages.
func (d *decoder) scalar(n *yaml.Node, path, tag, want string) (*yaml.Node, bool) {
	line := n.Line
	n = deref(n)
	if isNull(n) {
		d.errorf(line, path, "missing value (want %s)", want)
		return nil, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		d.errorf(line, path, "want %s, got %s", want, describe(n))
		return nil, false
	}
	return n, true
}

func (d *decoder) str(n *yaml.Node, path string, out *string) {
	if s, ok := d.scalar(n, path, "!!str", "a string"); ok {
		*out = s.Value
	}
}

func (d *decoder) boolean(n *yaml.Node, path string, out *bool) {
	s, ok := d.scalar(n, path, "!!bool", "a boolean (true or false)")
	if !ok {
		return
	}
	var v bool
	if err := s.Decode(&v); err != nil {
		d.errorf(n.Line, path, "invalid boolean %s", quote(s.Value))
		return
	}
	*out = v
}

func (d *decoder) int64(n *yaml.Node, path string, out *int64) bool {
	line := n.Line
	s := deref(n)
	if s.Kind == yaml.ScalarNode && s.ShortTag() == "!!float" && isDigits(s.Value) {
		d.errorf(line, path, "integer %s out of range", clip(s.Value))
		return false
	}
	s, ok := d.scalar(n, path, "!!int", "an integer")
	if !ok {
		return false
	}
	var v int64
	if err := s.Decode(&v); err != nil {
		d.errorf(line, path, "invalid integer %s (out of range?)", clip(s.Value))
		return false
	}
	*out = v
	return true
}

func (d *decoder) int(n *yaml.Node, path string, out *int) {
	var v int64
	if !d.int64(n, path, &v) {
		return
	}
	if int64(int(v)) != v {
		d.errorf(n.Line, path, "integer %d out of range", v)
		return
	}
	*out = int(v)
}

func isDigits(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

func (d *decoder) duration(n *yaml.Node, path string, out *time.Duration) {
	line := n.Line
	s := deref(n)
	if s.Kind == yaml.ScalarNode {
		switch s.ShortTag() {
		case "!!int", "!!float":
			d.errorf(line, path, "invalid duration %s: missing unit (want e.g. 25s)", clip(s.Value))
			return
		case "!!str":
			v, err := time.ParseDuration(s.Value)
			if err != nil {
				d.errorf(line, path, "invalid duration %s (want e.g. 25s)", quote(s.Value))
				return
			}
			*out = v
			return
		}
	}
	if isNull(s) {
		d.errorf(line, path, "missing value (want a duration such as 25s)")
		return
	}
	d.errorf(line, path, "want a duration such as 25s, got %s", describe(s))
}

// sequence checks that n is a list and returns its items.
func (d *decoder) sequence(n *yaml.Node, path, want string) ([]*yaml.Node, bool) {
	line := n.Line
	n = deref(n)
	if isNull(n) {
		d.errorf(line, path, "missing value (want %s)", want)
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(line, path, "want %s, got %s", want, describe(n))
		return nil, false
	}
	return n.Content, true
}

func (d *decoder) strings(n *yaml.Node, path string, out *[]string) {
	items, ok := d.sequence(n, path, "a list of strings")
	if !ok {
		return
	}
	list := make([]string, 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		var s string
		d.str(it, p, &s)
		list = append(list, s)
	}
	*out = list
}

// optionalStrings is strings for an omitempty field, where an empty list
// means the same as none: it stores nil, so the config survives a
// marshal/parse round trip unchanged.
func (d *decoder) optionalStrings(n *yaml.Node, path string, out *[]string) {
	d.strings(n, path, out)
	if len(*out) == 0 {
		*out = nil
	}
}

func (d *decoder) root(n *yaml.Node, c *Config) {
	d.mapping(n, "", func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "listen":
			d.str(v, p, &c.Listen)
		case "static_dir":
			if isNull(deref(v)) {
				d.errorf(v.Line, p, `missing value (want a string; use "" for none)`)
				break
			}
			d.str(v, p, &c.StaticDir)
		case "shutdown_timeout":
			d.duration(v, p, &c.ShutdownTimeout)
		case "log":
			d.log(v, p, &c.Log)
		case "socketio":
			d.socketIO(v, p, &c.SocketIO)
		case "cors":
			d.cors(v, p, &c.CORS)
		case "namespaces":
			d.namespaces(v, p, &c.Namespaces)
		case "engineio_echo":
			d.engineIOEcho(v, p, &c.EngineIOEcho)
		case "pprof":
			d.boolean(v, p, &c.Pprof)
		case "limits":
			d.limits(v, p, &c.Limits)
		case "raw_websocket":
			d.rawWebSocket(v, p, &c.RawWebSocket)
		case "adapter":
			d.adapter(v, p, &c.Adapter)
		case "metrics":
			d.metrics(v, p, &c.Metrics)
		case "admin_ui":
			d.adminUI(v, p, &c.AdminUI)
		case "api":
			d.api(v, p, &c.API)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) log(n *yaml.Node, path string, l *Log) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "level":
			d.str(v, p, &l.Level)
		case "format":
			d.str(v, p, &l.Format)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) socketIO(n *yaml.Node, path string, s *SocketIO) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "path":
			d.str(v, p, &s.Path)
		case "ping_interval":
			d.duration(v, p, &s.PingInterval)
		case "ping_timeout":
			d.duration(v, p, &s.PingTimeout)
		case "connect_timeout":
			d.duration(v, p, &s.ConnectTimeout)
		case "upgrade_timeout":
			d.duration(v, p, &s.UpgradeTimeout)
		case "max_payload":
			d.int64(v, p, &s.MaxPayload)
		case "max_buffered_bytes":
			d.int(v, p, &s.MaxBufferedBytes)
		case "serve_client":
			d.boolean(v, p, &s.ServeClient)
		case "transports":
			d.strings(v, p, &s.Transports)
		case "allow_eio3":
			d.boolean(v, p, &s.AllowEIO3)
		case "cookie":
			d.cookie(v, p, &s.Cookie)
		case "cleanup_empty_child_namespaces":
			d.boolean(v, p, &s.CleanupEmptyChildNamespaces)
		case "per_message_deflate":
			d.compression(v, p, &s.PerMessageDeflate)
		case "http_compression":
			d.compression(v, p, &s.HTTPCompression)
		case "connection_state_recovery":
			d.connectionStateRecovery(v, p, &s.ConnectionStateRecovery)
		case "parser":
			d.str(v, p, &s.Parser)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) cors(n *yaml.Node, path string, c *CORS) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "origins":
			d.strings(v, p, &c.Origins)
		case "credentials":
			d.boolean(v, p, &c.Credentials)
		case "methods":
			d.optionalStrings(v, p, &c.Methods)
		case "headers":
			d.optionalStrings(v, p, &c.Headers)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) namespaces(n *yaml.Node, path string, out *[]Namespace) {
	items, ok := d.sequence(n, path, "a list of {name, app} mappings")
	if !ok {
		return
	}
	list := make([]Namespace, 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		var ns Namespace
		var hasName, hasApp, hasPattern bool
		if isNull(deref(it)) {
			d.errorf(it.Line, p, "missing value (want a mapping with keys name and app)")
			continue
		}
		d.mapping(it, p, func(key string, v *yaml.Node, kp string) bool {
			switch key {
			case "name":
				hasName = true
				d.str(v, kp, &ns.Name)
			case "app":
				hasApp = true
				d.str(v, kp, &ns.App)
			case "pattern":
				hasPattern = true
				d.str(v, kp, &ns.Pattern)
			default:
				return d.namespaceKey(&ns, key, v, kp)
			}
			return true
		})
		if deref(it).Kind == yaml.MappingNode {
			switch {
			case hasName && hasPattern:
				d.errorf(it.Line, p, `keys "name" and "pattern" exclude each other (a namespace, or a pattern of namespaces)`)
			case !hasName && !hasPattern:
				d.errorf(it.Line, p, `missing key "name" (or "pattern")`)
			}
			if !hasApp && !ns.HasRules() {
				d.errorf(it.Line, p, `missing key "app"`)
			}
		}
		list = append(list, ns)
	}
	*out = list
}

func (d *decoder) cookie(n *yaml.Node, path string, out **Cookie) {
	if isNull(deref(n)) {
		*out = nil // explicitly disabled
		return
	}
	c := DefaultCookie()
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "name":
			d.str(v, p, &c.Name)
		case "path":
			d.str(v, p, &c.Path)
		case "domain":
			d.str(v, p, &c.Domain)
		case "http_only":
			d.boolean(v, p, &c.HTTPOnly)
		case "secure":
			d.boolean(v, p, &c.Secure)
		case "same_site":
			d.str(v, p, &c.SameSite)
		case "max_age":
			d.duration(v, p, &c.MaxAge)
		default:
			return false
		}
		return true
	})
	*out = c
}

func (d *decoder) connectionStateRecovery(n *yaml.Node, path string, r *ConnectionStateRecovery) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "enabled":
			d.boolean(v, p, &r.Enabled)
		case "max_disconnection_duration":
			d.duration(v, p, &r.MaxDisconnectionDuration)
		case "skip_middlewares":
			d.boolean(v, p, &r.SkipMiddlewares)
		case "max_packets":
			d.int(v, p, &r.MaxPackets)
		case "max_bytes":
			d.int(v, p, &r.MaxBytes)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) engineIOEcho(n *yaml.Node, path string, out **EngineIOEcho) {
	if isNull(deref(n)) {
		*out = nil // explicitly disabled
		return
	}
	e := &EngineIOEcho{Path: DefaultEngineIOEchoPath}
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "path":
			d.str(v, p, &e.Path)
		default:
			return false
		}
		return true
	})
	*out = e
}

func (d *decoder) rawWebSocket(n *yaml.Node, path string, out **RawWebSocket) {
	if isNull(deref(n)) {
		*out = nil // explicitly disabled
		return
	}
	r := &RawWebSocket{
		Path:       DefaultRawWebSocketPath,
		Namespace:  DefaultRawWebSocketNamespace,
		MaxMessage: DefaultRawWebSocketMaxMessage,
	}
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "path":
			d.str(v, p, &r.Path)
		case "namespace":
			d.str(v, p, &r.Namespace)
		case "max_message":
			d.int(v, p, &r.MaxMessage)
		default:
			return false
		}
		return true
	})
	*out = r
}

func (d *decoder) adapter(n *yaml.Node, path string, a *Adapter) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "type":
			d.str(v, p, &a.Type)
		case "url":
			d.str(v, p, &a.URL)
		case "key_prefix":
			d.str(v, p, &a.KeyPrefix)
		case "request_timeout":
			d.duration(v, p, &a.RequestTimeout)
		default:
			return false
		}
		return true
	})
}
