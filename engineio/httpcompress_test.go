package engineio

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestChooseEncoding(t *testing.T) {
	for header, want := range map[string]string{
		"":                                "",
		"gzip":                            "gzip",
		"deflate":                         "deflate",
		"gzip, deflate, br":               "gzip",
		"deflate, gzip":                   "gzip", // equal weights: gzip
		"br":                              "",
		"identity":                        "",
		"*":                               "gzip",
		"gzip;q=0":                        "",
		"gzip;q=0, deflate":               "deflate",
		"gzip;q=0.5, deflate;q=0.8":       "deflate",
		"GZIP ; Q=0.9":                    "gzip",
		"x-gzip":                          "gzip",
		"*;q=0":                           "",
		"*;q=0.1, gzip;q=0":               "deflate",
		"gzip;q=abc":                      "",
		"gzip;q=2":                        "",
		"br;q=1.0, gzip;q=0.8, *;q=0.1":   "gzip",
		"deflate;q=0.001, identity;q=1.0": "deflate",
	} {
		if got := chooseEncoding(header); got != want {
			t.Errorf("chooseEncoding(%q) = %q, want %q", header, got, want)
		}
	}
}

// pollRaw sends a polling GET with a given Accept-Encoding (none if
// empty), without the transparent decompression of Go's client, and
// returns the response with its body decoded as Content-Encoding says.
func (ts *testServer) pollRaw(t *testing.T, query, acceptEncoding string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", ts.url+"?EIO=4&transport=polling"+query, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body io.Reader = res.Body
	switch res.Header.Get("Content-Encoding") {
	case "gzip":
		if body, err = gzip.NewReader(res.Body); err != nil {
			t.Fatal(err)
		}
	case "deflate":
		if body, err = zlib.NewReader(res.Body); err != nil {
			t.Fatal(err)
		}
	case "":
	default:
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decoding a %s body: %v", res.Header.Get("Content-Encoding"), err)
	}
	return res, string(b)
}

func TestHTTPCompression(t *testing.T) {
	big := strings.Repeat(`["chat",{"message":"hello"}]`, 100)
	tests := []struct {
		name, acceptEncoding, payload string
		jsonp                         bool
		wantEncoding                  string
		wantVary                      bool
	}{
		{"gzip", "gzip, deflate, br", big, false, "gzip", true},
		{"deflate", "deflate", big, false, "deflate", true},
		{"no Accept-Encoding", "", big, false, "", true},
		{"gzip refused", "gzip;q=0, identity", big, false, "", true},
		{"under the threshold", "gzip", "small", false, "", false},
		{"JSONP", "gzip", big, true, "gzip", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Options{HTTPCompression: Compression{Enabled: true, Threshold: 1024}}, nil)
			q := ""
			if tt.jsonp {
				q = "&j=0"
			}
			res, body := ts.pollRaw(t, q, tt.acceptEncoding)
			if res.Header.Get("Content-Encoding") != "" {
				t.Fatalf("handshake (%d bytes) compressed", len(body))
			}
			r := ts.session()
			sid := r.sess.ID()
			_ = r.sess.Send(false, NewTextMessage([]byte(tt.payload)))
			res, body = ts.pollRaw(t, q+"&sid="+sid, tt.acceptEncoding)
			if got := res.Header.Get("Content-Encoding"); got != tt.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.wantEncoding)
			}
			if got := res.Header.Get("Vary") == "Accept-Encoding"; got != tt.wantVary {
				t.Errorf("Vary %q", res.Header.Get("Vary"))
			}
			want := "4" + tt.payload
			if tt.jsonp {
				want = `___eio[0]("4` + strings.ReplaceAll(tt.payload, `"`, `\"`) + `");`
			}
			if body != want {
				t.Errorf("body %.60q..., want %.60q...", body, want)
			}
			if tt.wantEncoding != "" && res.ContentLength >= int64(len(want)) {
				t.Errorf("Content-Length %d for %d bytes", res.ContentLength, len(want))
			}
			ts.endPolling(sid)
		})
	}
}

func TestHTTPCompressionOff(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	ts.pollRaw(t, "", "gzip")
	r := ts.session()
	sid := r.sess.ID()
	_ = r.sess.Send(false, NewTextMessage([]byte(strings.Repeat("x", 5000))))
	res, body := ts.pollRaw(t, "&sid="+sid, "gzip")
	if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "" || len(body) != 5001 {
		t.Fatalf("compression off: Content-Encoding %q, Vary %q, %d bytes", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"), len(body))
	}
	ts.endPolling(sid)
}
