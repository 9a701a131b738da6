package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// Args are the arguments of an incoming event or acknowledgement, kept as
// raw JSON until a handler decodes them, so that relaying them costs no
// decoding at all. Binary arguments (Buffers, ArrayBuffers, Blobs on the
// client) arrive as attachments: decode them into []byte.
type Args struct {
	raw     []json.RawMessage
	buffers [][]byte
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Attachments returns the binary attachments that the arguments'
// placeholders index (see ParseArgs). Do not modify them.
func (a Args) Attachments() [][]byte { return a.buffers }

// From returns the arguments from index i on, for relaying part of an
// event: Emit("x", args.From(1)) sends them on unchanged, binary included.
func (a Args) From(i int) Args {
	if i >= len(a.raw) {
		return Args{}
	}
	return Args{raw: a.raw[i:], buffers: a.buffers}
}

// Raw returns argument i as JSON. Binary arguments appear as
// {"_placeholder":true,"num":N} here.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Bytes returns argument i if it is a binary attachment.
func (a Args) Bytes(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.raw) {
		return nil, false
	}
	if n, ok := placeholderNum(a.raw[i]); ok && n < len(a.buffers) {
		return a.buffers[n], true
	}
	return nil, false
}

// Decode decodes argument i into dst, like json.Unmarshal. Binary data,
// including attachments nested in objects, decodes into []byte fields;
// into an `any` it becomes a []byte.
func (a Args) Decode(i int, dst any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("socketio: argument %d missing (have %d)", i, len(a.raw))
	}
	raw := a.raw[i]
	if len(a.buffers) == 0 || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return json.Unmarshal(raw, dst)
	}
	if p, ok := dst.(*[]byte); ok {
		if b, ok := a.Bytes(i); ok {
			*p = b
			return nil
		}
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return err
	}
	if p, ok := dst.(*any); ok {
		*p = a.replacePlaceholders(tree, false)
		return nil
	}
	// encoding/json decodes base64 strings into []byte: let it.
	b, err := json.Marshal(a.replacePlaceholders(tree, true))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// Bind decodes the arguments in order into dst pointers. Missing trailing
// arguments leave their destinations untouched; extra ones are ignored.
func (a Args) Bind(dst ...any) error {
	for i, d := range dst {
		if i >= len(a.raw) {
			break
		}
		if err := a.Decode(i, d); err != nil {
			return fmt.Errorf("socketio: argument %d: %w", i, err)
		}
	}
	return nil
}

// Values decodes every argument into plain Go values ([]byte for binary).
func (a Args) Values() []any {
	out := make([]any, len(a.raw))
	for i := range a.raw {
		_ = a.Decode(i, &out[i])
	}
	return out
}

func (a Args) replacePlaceholders(v any, base64Strings bool) any {
	switch t := v.(type) {
	case map[string]any:
		if ph, _ := t["_placeholder"].(bool); ph {
			if f, ok := t["num"].(float64); ok && int(f) >= 0 && int(f) < len(a.buffers) && f == float64(int(f)) {
				if base64Strings {
					return base64.StdEncoding.EncodeToString(a.buffers[int(f)])
				}
				return a.buffers[int(f)]
			}
		}
		for k, e := range t {
			t[k] = a.replacePlaceholders(e, base64Strings)
		}
	case []any:
		for i, e := range t {
			t[i] = a.replacePlaceholders(e, base64Strings)
		}
	}
	return v
}

func placeholderNum(raw json.RawMessage) (int, bool) {
	if firstByte(raw) != '{' || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return 0, false
	}
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder || ph.Num == nil || *ph.Num < 0 {
		return 0, false
	}
	return *ph.Num, true
}

// checkPlaceholders verifies that every placeholder in raw points at an
// existing attachment (an out-of-range index is a malformed packet).
func checkPlaceholders(raw []byte, n int) bool {
	if !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return true
	}
	var tree any
	if json.Unmarshal(raw, &tree) != nil {
		return false
	}
	ok := true
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ph, _ := t["_placeholder"].(bool); ph {
				f, isNum := t["num"].(float64)
				if !isNum || f < 0 || int(f) >= n || f != float64(int(f)) {
					ok = false
				}
				return
			}
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(tree)
	return ok
}

// encoder appends JSON for outgoing arguments and collects attachments.
type encoder struct {
	buf         []byte
	attachments [][]byte
}

// countBinary returns how many attachments args will produce.
func countBinary(args []any) int {
	n := 0
	for _, a := range args {
		n += binaryIn(a)
	}
	return n
}

// sizeHint guesses the JSON size of args, exactly for strings and relayed
// raw arguments (the common payloads), so that encoding rarely grows its
// buffer: each growth is an allocation and a copy.
func sizeHint(args []any) int {
	n := 0
	for _, a := range args {
		switch t := a.(type) {
		case string:
			n += len(t) + 3
		case json.RawMessage:
			n += len(t) + 1
		case Args:
			for _, r := range t.raw {
				n += len(r) + 1
			}
		default:
			n += 16
		}
	}
	return n
}

func binaryIn(v any) int {
	switch t := v.(type) {
	case nil, string, bool, int, int64, float64, json.RawMessage:
		return 0
	case []byte:
		return 1
	case Args:
		return len(t.buffers)
	case map[string]any:
		n := 0
		for _, e := range t {
			n += binaryIn(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range t {
			n += binaryIn(e)
		}
		return n
	}
	return 0
}

func (e *encoder) value(v any) error {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case json.RawMessage:
		if len(t) == 0 {
			e.buf = append(e.buf, "null"...)
		} else {
			e.buf = append(e.buf, t...)
		}
	case string:
		e.buf = appendJSONString(e.buf, t)
	case []byte:
		e.placeholder(t)
	case map[string]any:
		if binaryIn(t) == 0 {
			return e.marshal(t)
		}
		e.buf = append(e.buf, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) { // sorted, as encoding/json does
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendJSONString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.value(t[k]); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
	case []any:
		if binaryIn(t) == 0 {
			return e.marshal(t)
		}
		e.buf = append(e.buf, '[')
		for i, el := range t {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	default:
		return e.marshal(v)
	}
	return nil
}

// args appends arguments, each preceded by a comma unless it is the first
// element of the array; an Args value is spread in place.
func (e *encoder) args(args []any, first bool) error {
	for _, a := range args {
		if in, ok := a.(Args); ok {
			if err := e.spread(in, first); err != nil {
				return err
			}
			first = first && len(in.raw) == 0
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		if err := e.value(a); err != nil {
			return err
		}
	}
	return nil
}

// spread appends received arguments unchanged, renumbering their
// attachments if other binary arguments came first.
func (e *encoder) spread(in Args, first bool) error {
	offset := len(e.attachments)
	for i, raw := range in.raw {
		if !first || i > 0 {
			e.buf = append(e.buf, ',')
		}
		if offset == 0 || len(in.buffers) == 0 {
			e.buf = append(e.buf, raw...)
			continue
		}
		var v any
		if err := in.Decode(i, &v); err != nil {
			return err
		}
		if err := e.value(v); err != nil {
			return err
		}
	}
	if offset == 0 {
		e.attachments = append(e.attachments, in.buffers...)
	}
	return nil
}

func (e *encoder) placeholder(b []byte) {
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = appendInt(e.buf, len(e.attachments))
	e.buf = append(e.buf, '}')
	e.attachments = append(e.attachments, b)
}

func (e *encoder) marshal(v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Func || rv.Kind() == reflect.Chan {
		return fmt.Errorf("socketio: cannot send a %T", v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}
