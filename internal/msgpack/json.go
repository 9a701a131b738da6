package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Socket.IO arguments are JSON with binary attachments (placeholders
// {"_placeholder":true,"num":N}); the cluster carries them as MessagePack
// with binary inline. These functions convert between the two, keeping
// object key order and every byte of binary data.

// FromJSON parses JSON into a value tree, as Decode returns, replacing
// placeholders with their attachment. Integral numbers become int64, as
// notepack encodes them.
func FromJSON(data []byte, attachments [][]byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec, attachments, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: trailing data")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, atts [][]byte, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errors.New("json: nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := jsonValue(dec, atts, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			out := Map{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec, atts, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, Entry{k.(string), v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if b, ok := placeholder(out, atts); ok {
				return b, nil
			}
			return out, nil
		}
		return nil, fmt.Errorf("json: unexpected %v", t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, err
		}
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), nil // 3.0 is 3 in JavaScript
		}
		return f, nil
	default: // nil, bool, string
		return t, nil
	}
}

func placeholder(m Map, atts [][]byte) ([]byte, bool) {
	if len(m) != 2 {
		return nil, false
	}
	ph, _ := m.Get("_placeholder")
	num, _ := m.Get("num")
	n, isInt := num.(int64)
	if ph != true || !isInt || n < 0 || n >= int64(len(atts)) {
		return nil, false
	}
	return atts[n], true
}

// AppendJSON appends v as JSON to buf; binary values become placeholders
// and are appended to atts.
func AppendJSON(buf []byte, v any, atts *[][]byte) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, t), nil
	case int64:
		return strconv.AppendInt(buf, t, 10), nil
	case uint64:
		return strconv.AppendUint(buf, t, 10), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return append(buf, "null"...), nil // as JSON.stringify does
		}
		b, err := json.Marshal(t)
		return append(buf, b...), err
	case string:
		b, err := json.Marshal(t)
		return append(buf, b...), err
	case json.RawMessage:
		return append(buf, t...), nil
	case []string:
		b, err := json.Marshal(t)
		return append(buf, b...), err
	case []byte:
		buf = append(buf, `{"_placeholder":true,"num":`...)
		buf = strconv.AppendInt(buf, int64(len(*atts)), 10)
		*atts = append(*atts, t)
		return append(buf, '}'), nil
	case []any:
		buf = append(buf, '[')
		for i, e := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = AppendJSON(buf, e, atts); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case Map:
		buf = append(buf, '{')
		for i, e := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			k, _ := json.Marshal(e.Key)
			buf = append(append(buf, k...), ':')
			var err error
			if buf, err = AppendJSON(buf, e.Value, atts); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	return nil, fmt.Errorf("json: cannot encode %T", v)
}
