package socketio

import (
	"encoding/json"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in          string
		typ         PacketType
		nsp         string
		id          int64
		data        string
		attachments int
	}{
		{`0`, PacketConnect, "/", noAck, "", 0},
		{`0{"token":"123"}`, PacketConnect, "/", noAck, `{"token":"123"}`, 0},
		{`0/admin,{"token":"123"}`, PacketConnect, "/admin", noAck, `{"token":"123"}`, 0},
		{`0/admin,`, PacketConnect, "/admin", noAck, "", 0},
		{`0/admin`, PacketConnect, "/admin", noAck, "", 0},
		{`1/admin,`, PacketDisconnect, "/admin", noAck, "", 0},
		{`2["hello",1]`, PacketEvent, "/", noAck, `["hello",1]`, 0},
		{`2/admin,456["project:delete",123]`, PacketEvent, "/admin", 456, `["project:delete",123]`, 0},
		{`3/admin,456[]`, PacketAck, "/admin", 456, `[]`, 0},
		{`51-["hello",{"_placeholder":true,"num":0}]`, PacketBinaryEvent, "/", noAck, `["hello",{"_placeholder":true,"num":0}]`, 1},
		{`61-/admin,456[{"_placeholder":true,"num":0}]`, PacketBinaryAck, "/admin", 456, `[{"_placeholder":true,"num":0}]`, 1},
		{`2[1,2]`, PacketEvent, "/", noAck, `[1,2]`, 0},
		// No payload: decoded, as by the reference, then ignored.
		{`2`, PacketEvent, "/", noAck, ``, 0},
		{`2/admin,7`, PacketEvent, "/admin", 7, ``, 0},
	}
	for _, tt := range tests {
		p, err := decodePacket([]byte(tt.in), &testLimits)
		if err != nil {
			t.Errorf("decodePacket(%s): %v", tt.in, err)
			continue
		}
		if p.typ != tt.typ || p.nsp != tt.nsp || p.id != tt.id || string(p.data) != tt.data || p.attachments != tt.attachments {
			t.Errorf("decodePacket(%s) = %+v", tt.in, p)
		}
	}
}

func TestDecodePacketInvalid(t *testing.T) {
	for _, in := range []string{
		``, `7`, `a`, `2"x"`, `2{}`, `2[`, `2["a"`, `1{}`, `0[]`, `3"x"`,
		`5["a"]`, `5-["a"]`, `50-["a"]`, `511-["a"]`, `5x-["a"]`, `51["a"]`,
		`2/admin,["a"`, `21234567890123456["a"]`,
	} {
		if p, err := decodePacket([]byte(in), &testLimits); err == nil {
			t.Errorf("decodePacket(%q) = %+v, want error", in, p)
		}
	}
}

func TestEventName(t *testing.T) {
	for raw, want := range map[string]string{`"hello"`: "hello", `"a\"b"`: `a"b`, `12`: "12"} {
		if got, ok := eventName(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("eventName(%s) = %q, %v", raw, got, ok)
		}
	}
	for _, raw := range []string{`"connect"`, `"disconnect"`, `"disconnecting"`, `"connect_error"`, `{}`, `null`, `[]`} {
		if _, ok := eventName(json.RawMessage(raw)); ok {
			t.Errorf("eventName(%s) accepted", raw)
		}
	}
}

func TestEncodeEvent(t *testing.T) {
	tests := []struct {
		typ  PacketType
		nsp  string
		id   int64
		name string
		args []any
		want string
		bins int
	}{
		{PacketEvent, "/", noAck, "hello", []any{"world", 1, true, nil}, `42["hello","world",1,true,null]`, 0},
		{PacketEvent, "/admin", 12, "x", nil, `42/admin,12["x"]`, 0},
		{PacketEvent, "/", noAck, "bin", []any{[]byte{1}, map[string]any{"b": []byte{2}}}, `452-["bin",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]`, 2},
		{PacketAck, "/", 3, "", []any{"ok"}, `433["ok"]`, 0},
		{PacketAck, "/", 3, "", []any{[]byte{9}}, `461-3[{"_placeholder":true,"num":0}]`, 1},
		{PacketEvent, "/", noAck, "html", []any{"<a&b>\u2028"}, `42["html","<a&b>\u2028"]`, 0},
	}
	for _, tt := range tests {
		msgs, err := encodeEvent(tt.typ, tt.nsp, tt.id, tt.name, tt.typ == PacketEvent, tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgs[0].String(); got != tt.want {
			t.Errorf("encodeEvent = %s, want %s", got, tt.want)
		}
		if len(msgs) != 1+tt.bins {
			t.Errorf("%d messages, want %d", len(msgs), 1+tt.bins)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x01\x1f\n\r\t\b\f", "é€😀", "bad\xffutf8", "\u2028\u2029", "<>&"} {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: invalid JSON %s", s, appendJSONString(nil, s))
		}
		std, _ := json.Marshal(s)
		var stdBack string
		_ = json.Unmarshal(std, &stdBack)
		if back != stdBack {
			t.Errorf("%q decodes to %q, encoding/json's to %q", s, back, stdBack)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("hello")
	f.Add("\x00\"\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		std, _ := json.Marshal(s)
		var stdBack string
		_ = json.Unmarshal(std, &stdBack)
		if back != stdBack {
			t.Fatalf("%q decodes to %q, want %q", s, back, stdBack)
		}
	})
}

func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		`0`, `0{"token":"1"}`, `0/admin,{}`, `1/admin,`, `2["a",1]`, `2/x,12["a"]`, `3/x,12[]`,
		`51-["a",{"_placeholder":true,"num":0}]`, `61-1[{"_placeholder":true,"num":0}]`, `4{"message":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := decodePacket(in, &testLimits)
		if err != nil {
			return
		}
		if p.attachments < 0 || p.attachments > testLimits.MaxAttachments {
			t.Fatalf("attachments %d out of range", p.attachments)
		}
		if p.nsp == "" || p.nsp[0] != '/' {
			t.Fatalf("namespace %q", p.nsp)
		}
		if p.data != nil && !json.Valid(p.data) {
			t.Fatalf("invalid JSON accepted: %q", p.data)
		}
		// An EVENT with no payload at all passes, as in the reference
		// parser (the socket ignores it); any payload must be an array.
		if (p.typ == PacketEvent && p.data != nil) || p.typ == PacketBinaryEvent {
			raw, err := splitArray(p.data)
			if err != nil {
				t.Fatalf("event payload not an array: %q", p.data)
			}
			if len(raw) > 0 {
				eventName(raw[0])
			}
		}
		_ = checkPlaceholders(p.data, p.attachments)
	})
}

func TestSplitArray(t *testing.T) {
	for in, want := range map[string][]string{
		`[]`:                            {},
		` [ ] `:                         {},
		`["a"]`:                         {`"a"`},
		`[ "a" , 1 ,{"x":[1,2]}, [3] ]`: {`"a"`, `1`, `{"x":[1,2]}`, `[3]`},
		`["a,]\"[{",null,true]`:         {`"a,]\"[{"`, `null`, `true`},
		`[{"s":"}\\"},{"t":"]"}]`:       {`{"s":"}\\"}`, `{"t":"]"}`},
	} {
		got, err := splitArray([]byte(in))
		if err != nil {
			t.Fatalf("splitArray(%s): %v", in, err)
		}
		if len(got) != len(want) {
			t.Fatalf("splitArray(%s) = %q", in, got)
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Errorf("splitArray(%s)[%d] = %s, want %s", in, i, got[i], want[i])
			}
		}
	}
}

func FuzzSplitArray(f *testing.F) {
	f.Add([]byte(`["a",1,{"b":[2,"]"]},null]`))
	f.Add([]byte(` [ "\"" , [] ] `))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want []json.RawMessage
		if !json.Valid(in) || firstByte(in) != '[' || json.Unmarshal(in, &want) != nil {
			if _, err := splitArray(in); err == nil && firstByte(in) != '[' {
				t.Fatalf("splitArray accepted a non-array: %s", in)
			}
			return
		}
		got, err := splitArray(in)
		if err != nil || len(got) != len(want) {
			t.Fatalf("splitArray(%s) = %q, %v; encoding/json sees %d elements", in, got, err, len(want))
		}
		for i := range got {
			var a, b any
			if json.Unmarshal(got[i], &a) != nil || json.Unmarshal(want[i], &b) != nil {
				t.Fatalf("element %d does not decode: %s", i, got[i])
			}
		}
	})
}

// testLimits are the default parser limits.
var testLimits = (&Limits{}).withDefaults()
