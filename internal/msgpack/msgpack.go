// Package msgpack is the MessagePack codec of the wire formats that
// notepack.io writes: the messages of @socket.io/redis-adapter and the
// packets of socket.io-msgpack-parser. It also converts between its value
// trees and Socket.IO arguments (JSON with binary attachments).
package msgpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The messages are MessagePack as notepack.io (the codec of
// @socket.io/redis-adapter) writes it: integers in their smallest form,
// other numbers as float64, Buffers as bin, objects as maps with string
// keys in insertion order. Decoded values are trees of:
//
//	nil, bool, int64, uint64 (above MaxInt64 only), float64, string,
//	[]byte, []any, Map
//
// Map keeps key order so that a JavaScript object crosses the cluster
// with its keys in the order the sender wrote them.

// Map is a MessagePack map with its key order.
type Map []Entry

type Entry struct {
	Key   string
	Value any
}

// get returns the value for key, or nil.
func (m Map) Get(key string) (any, bool) {
	for _, e := range m {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// MaxDepth bounds nesting so that a hostile message cannot exhaust the
// stack.
const MaxDepth = 64

var errShort = errors.New("msgpack: truncated data")

// Decode decodes one value that must span all of b, with arrays and maps
// nested at most MaxDepth deep.
func Decode(b []byte) (any, error) {
	return DecodeDepth(b, MaxDepth)
}

// DecodeDepth is Decode with arrays and maps nested at most maxDepth deep
// (the outermost container is at depth 0). A length prefix is checked
// against the bytes that remain before anything is allocated for it.
func DecodeDepth(b []byte, maxDepth int) (any, error) {
	d := decoder{b: b, max: maxDepth}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.i != len(b) {
		return nil, fmt.Errorf("msgpack: %d trailing bytes", len(b)-d.i)
	}
	return v, nil
}

type decoder struct {
	b   []byte
	i   int
	max int // deepest container allowed
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.i {
		return nil, errShort
	}
	s := d.b[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// ErrTooDeep reports containers nested deeper than the decoder allows.
var ErrTooDeep = errors.New("msgpack: nesting too deep")

func (d *decoder) value(depth int) (any, error) {
	s, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := s[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xf0 == 0x80:
		return d.mapN(int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.arrayN(int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		b, err := d.take(int(min(n, math.MaxInt32)))
		if err != nil {
			return nil, err
		}
		return bytes.Clone(b), nil // not nil when empty: an empty Buffer is not null
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(int(min(n, math.MaxInt32)), false)
	case 0xca:
		n, err := d.uint(4)
		return float64(math.Float32frombits(uint32(n))), err
	case 0xcb:
		n, err := d.uint(8)
		return math.Float64frombits(n), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		n, err := d.uint(1 << (c - 0xcc))
		if n > math.MaxInt64 {
			return n, err
		}
		return int64(n), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		n, err := d.uint(size)
		shift := 64 - 8*size
		return int64(n<<shift) >> shift, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1<<(c-0xd4), true)
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(int(min(n, math.MaxInt32)))
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.arrayN(int(min(n, math.MaxInt32)), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapN(int(min(n, math.MaxInt32)), depth)
	}
	return nil, fmt.Errorf("msgpack: unknown type byte 0x%02x", c)
}

func (d *decoder) str(n int) (any, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// growCap bounds the capacity allocated up front for a container: its
// declared length is checked against the remaining bytes, but one byte of
// input must not make 16 bytes of slice before anything is decoded.
const growCap = 256

func (d *decoder) arrayN(n, depth int) (any, error) {
	if depth > d.max {
		return nil, ErrTooDeep
	}
	if n > len(d.b)-d.i { // each element takes at least one byte
		return nil, errShort
	}
	out := make([]any, 0, min(n, growCap))
	for range n {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *decoder) mapN(n, depth int) (any, error) {
	if depth > d.max {
		return nil, ErrTooDeep
	}
	if n > (len(d.b)-d.i)/2 {
		return nil, errShort
	}
	out := make(Map, 0, min(n, growCap))
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		var key string
		switch t := k.(type) {
		case string:
			key = t
		case int64:
			key = strconv.FormatInt(t, 10)
		default:
			return nil, fmt.Errorf("msgpack: unsupported map key %T", k)
		}
		out = append(out, Entry{key, v})
	}
	return out, nil
}

// ext decodes notepack's extensions (both 2.x, which socket.io-msgpack-parser
// uses, and 3.x, which decodes what 2.x wrote):
//   - type 0 in a variable-length ext (c7-c9): an ArrayBuffer or typed
//     array, which is binary ([]byte). Browsers send all their binary so.
//   - type 0 in fixext 1: `undefined` (nil here).
//   - type 0 in fixext 8: a Date as milliseconds (hi, lo uint32), notepack
//     2.x's encoding; type -1: a timestamp. Both become an ISO string, as
//     JSON.stringify writes a Date.
//
// Other types are skipped as nil.
func (d *decoder) ext(n int, fixed bool) (any, error) {
	ts, err := d.take(1)
	if err != nil {
		return nil, err
	}
	data, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if ts[0] == 0 {
		switch {
		case !fixed:
			return bytes.Clone(data), nil
		case n == 8:
			ms := int64(int32(binary.BigEndian.Uint32(data)))<<32 | int64(binary.BigEndian.Uint32(data[4:]))
			return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"), nil
		}
		return nil, nil
	}
	if int8(ts[0]) != -1 {
		return nil, nil
	}
	var t time.Time
	switch n {
	case 4:
		t = time.Unix(int64(binary.BigEndian.Uint32(data)), 0)
	case 8:
		v := binary.BigEndian.Uint64(data)
		t = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		t = time.Unix(int64(binary.BigEndian.Uint64(data[4:])), int64(binary.BigEndian.Uint32(data)))
	default:
		return nil, nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
}

// Append appends v's encoding to b, choosing formats as notepack.io
// does. It accepts the decoded types plus int, []string and
// map[string]any-free structures built by this package.
func Append(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if t {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int:
		return AppendInt(b, int64(t)), nil
	case int64:
		return AppendInt(b, t), nil
	case uint64:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), t), nil
	case float64:
		if t == math.Trunc(t) && t >= -(1<<63) && t < 1<<63 && !math.IsInf(t, 0) {
			return AppendInt(b, int64(t)), nil // notepack writes integral numbers as integers
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(t)), nil
	case string:
		n := len(t)
		switch {
		case n < 0x20:
			b = append(b, 0xa0|byte(n))
		case n < 0x100:
			b = append(b, 0xd9, byte(n))
		case n < 0x10000:
			b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
		}
		return append(b, t...), nil
	case []byte:
		n := len(t)
		switch {
		case n < 0x100:
			b = append(b, 0xc4, byte(n))
		case n < 0x10000:
			b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
		}
		return append(b, t...), nil
	case []string:
		b = AppendArrayHeader(b, len(t))
		for _, s := range t {
			b, _ = Append(b, s)
		}
		return b, nil
	case []any:
		b = AppendArrayHeader(b, len(t))
		for _, e := range t {
			var err error
			if b, err = Append(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case Map:
		n := len(t)
		switch {
		case n < 0x10:
			b = append(b, 0x80|byte(n))
		case n < 0x10000:
			b = binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
		}
		for _, e := range t {
			b, _ = Append(b, e.Key)
			var err error
			if b, err = Append(b, e.Value); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("msgpack: cannot encode %T", v)
}

func AppendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 0x10:
		return append(b, 0x90|byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

func AppendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 0x80:
		return append(b, byte(v))
	case v >= 0 && v < 0x100:
		return append(b, 0xcc, byte(v))
	case v >= 0 && v < 0x10000:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v >= 0 && v < 0x100000000:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	case v >= 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(v))
	case v >= -0x20:
		return append(b, byte(v))
	case v >= -0x80:
		return append(b, 0xd0, byte(v))
	case v >= -0x8000:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= -0x80000000:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

// Str returns the string at key, or "".
func (m Map) Str(key string) string {
	v, _ := m.Get(key)
	s, _ := v.(string)
	return s
}

// Int returns the integral number at key.
func (m Map) Int(key string) (int64, bool) {
	v, _ := m.Get(key)
	switch t := v.(type) {
	case int64:
		return t, true
	case float64:
		return int64(t), t == float64(int64(t))
	}
	return 0, false
}
