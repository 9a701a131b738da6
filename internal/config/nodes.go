package config

// Reading single YAML nodes: the scalars, lists and mappings of the file,
// checked against the type a key wants, with messages that say what was
// found and what would be right.

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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

// number decodes an integer or a decimal number.
func (d *decoder) number(n *yaml.Node, path string, out *float64) {
	line := n.Line
	s := deref(n)
	if s.Kind == yaml.ScalarNode && (s.ShortTag() == "!!int" || s.ShortTag() == "!!float") {
		v, err := strconv.ParseFloat(strings.ReplaceAll(s.Value, "_", ""), 64)
		if err != nil || v != v || v > 1e15 || v < -1e15 {
			d.errorf(line, path, "invalid number %s", clip(s.Value))
			return
		}
		*out = v
		return
	}
	if isNull(s) {
		d.errorf(line, path, "missing value (want a number)")
		return
	}
	d.errorf(line, path, "want a number, got %s", describe(s))
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
