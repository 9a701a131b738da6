package engineio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// JSONP polling, for old browsers without XHR, as engine.io 6 still serves
// it to both protocol revisions: a handshake with a "j" query parameter
// makes the session's GETs answer with a script calling
// ___eio[j]("<payload>"), and its POSTs carry the payload as the form field
// "d". Binary always travels as base64 text: a script cannot carry bytes.

// jsonpHead returns the start of a JSONP response for the "j" parameter
// (digits only, as the reference keeps), or "" when j is absent.
func jsonpHead(q url.Values) string {
	if !q.Has("j") {
		return ""
	}
	j := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q.Get("j"))
	return "___eio[" + j + "]("
}

func (s *Session) writeJSONP(w http.ResponseWriter, acceptEncoding string, msgs []*Message) {
	var body []byte
	if s.eio3 {
		body, _ = encodePayloadV3(nil, msgs, false)
	} else {
		body = encodePayload(nil, msgs) // binary is base64 in v4 payloads
	}
	// json.Marshal escapes U+2028 and U+2029 too: the result is valid
	// JavaScript, not only valid JSON.
	js, _ := json.Marshal(string(body))
	out := make([]byte, 0, len(s.jsonp)+len(js)+2)
	out = append(out, s.jsonp...)
	out = append(out, js...)
	out = append(out, ");"...)
	s.srv.respond(w, acceptEncoding, "text/javascript; charset=UTF-8", out)
}

// jsonpData extracts a JSONP POST's payload: the form field "d", with the
// client's newline escaping undone ("\\n" is a newline, "\\\\n" a
// backslash and n).
func jsonpData(body []byte) ([]byte, bool) {
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("d") {
		return nil, false
	}
	d := form.Get("d")
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); i++ {
		switch {
		case strings.HasPrefix(d[i:], `\\n`):
			out = append(out, '\\', 'n')
			i += 2
		case strings.HasPrefix(d[i:], `\n`):
			out = append(out, '\n')
			i++
		default:
			out = append(out, d[i])
		}
	}
	return out, true
}
