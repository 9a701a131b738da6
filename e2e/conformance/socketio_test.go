package conformance

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Socket.IO protocol v5 over Engine.IO v4 at /socket.io/. Tests named after
// the official test suite (socket.io-protocol/test-suite/test-suite.js) port
// its cases; the others check further rules of the protocol text or behaviour
// of the reference implementation. The Engine.IO layer of /socket.io/ is
// covered by the forPaths tests in engineio_test.go.

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

// --- connect -------------------------------------------------------------------

// Port of "should allow connection to the main namespace" (and "... with a
// payload"): CONNECT is answered with {sid} only, then the profile emits
// "auth" with the CONNECT payload ({} when there is none).
func TestSIOConnectMain(t *testing.T) {
	for _, auth := range []string{"", `{"token":"123"}`} {
		t.Run("auth="+auth, func(t *testing.T) {
			e := setup(t)
			c, hs := e.openWS(sioPath)
			sid := c.sioConnect("/", auth)
			// v5: the Socket.IO id differs from the Engine.IO session id.
			if sid == hs.SID {
				t.Errorf("Socket.IO sid %q equals the Engine.IO sid", sid)
			}
		})
	}
}

// Port of "should allow connection to a custom namespace" (and "... with a
// payload").
func TestSIOConnectCustom(t *testing.T) {
	for _, auth := range []string{"", `{"token":"abc"}`} {
		t.Run("auth="+auth, func(t *testing.T) {
			e := setup(t)
			c, _ := e.openWS(sioPath)
			c.sioConnect("/custom", auth)
		})
	}
}

// Rule: the namespace's trailing comma is optional when nothing follows
// ("40/custom" as sent by the official suite's disconnect test).
func TestSIOConnectCustomWithoutComma(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(sioPath)
	c.send("40/custom")
	f := c.next()
	if f.op != ws.OpText || !strings.HasPrefix(string(f.data), "4") {
		t.Fatalf("CONNECT answer: got %v", f)
	}
	parseConnectOK(t, string(f.data[1:]), "/custom")
	c.expectSIOText("42/custom,", `["auth",{}]`)
}

// Rule: the same exchange works over HTTP long-polling (sample session of the
// protocol text), custom namespaces and events included.
func TestSIOConnectPolling(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(sioPath)
	e.push(sioPath, sid, "40")
	got := e.pollPackets(sioPath, sid, 2)
	parseConnectOK(t, strings.TrimPrefix(got[0], "4"), "/")
	if !strings.HasPrefix(got[0], "4") {
		t.Fatalf("CONNECT answer %q: want an Engine.IO message", got[0])
	}
	expectSIO(t, got[1], "42", `["auth",{}]`)

	e.push(sioPath, sid, `40/custom,{"token":"abc"}`+recordSeparator+`42["message","over polling"]`)
	got = e.pollPackets(sioPath, sid, 3)
	// Namespaces are independent: the echo on "/" may come before or after
	// the "/custom" handshake.
	var custom []string
	for _, p := range got {
		if strings.HasPrefix(p, "42[") {
			expectSIO(t, p, "42", `["message-back","over polling"]`)
			continue
		}
		custom = append(custom, p)
	}
	if len(custom) != 2 {
		t.Fatalf("got %q, want the /custom CONNECT answer, its auth event and the echo", got)
	}
	parseConnectOK(t, strings.TrimPrefix(custom[0], "4"), "/custom")
	expectSIO(t, custom[1], "42/custom,", `["auth",{"token":"abc"}]`)
}

// Port of "should disallow connection to an unknown namespace": the answer is
// CONNECT_ERROR {"message":"Invalid namespace"} and the connection stays open.
func TestSIOConnectUnknownNamespace(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(sioPath)
	c.send("40/random")
	c.expectSIOText("44/random,", `{"message":"Invalid namespace"}`)
	c.sioConnect("/", "")
	c.expectAlive()
}

// Port of "should disallow connection with an invalid handshake".
func TestSIOConnectInvalidHandshake(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(sioPath)
	c.send("4abc")
	c.expectClosed(closeTimeout)
}

// Rule: the CONNECT payload, when present, must be a JSON object.
func TestSIOConnectInvalidPayload(t *testing.T) {
	for _, p := range []string{`40[]`, `40"abc"`, `40{`, `40/custom,[1]`} {
		t.Run(p, func(t *testing.T) {
			e := setup(t)
			c, _ := e.openWS(sioPath)
			c.send(p)
			c.expectClosed(closeTimeout)
		})
	}
}

// Port of "should close the connection if no handshake is received", made
// stricter: the client answers pings, so only connectTimeout can close it.
func TestSIOConnectTimeout(t *testing.T) {
	t.Run("no CONNECT", func(t *testing.T) {
		e := setup(t)
		start := time.Now()
		c, _ := e.openWS(sioPath)
		c.expectClosed(connectTimeout + closeTimeout)
		if d := time.Since(start); d < connectTimeout*8/10 {
			t.Errorf("closed after %v, want about %v", d, connectTimeout)
		}
	})
	// A refused CONNECT does not count as joining a namespace.
	t.Run("after CONNECT_ERROR", func(t *testing.T) {
		e := setup(t)
		start := time.Now()
		c, _ := e.openWS(sioPath)
		c.send("40/random")
		c.expectSIOText("44/random,", `{"message":"Invalid namespace"}`)
		c.expectClosed(connectTimeout + closeTimeout)
		if d := time.Since(start); d < connectTimeout*8/10 {
			t.Errorf("closed after %v, want about %v", d, connectTimeout)
		}
	})
	// Once a namespace is joined the timer no longer applies.
	t.Run("connected", func(t *testing.T) {
		e := setup(t)
		c := e.openSIO()
		c.idle(connectTimeout + slack)
		c.expectAlive()
	})
}

// Rule (protocol text): if the first packet is not a CONNECT the server MUST
// close the connection.
func TestSIOEventBeforeConnect(t *testing.T) {
	e := setup(t)
	c, _ := e.openWS(sioPath)
	c.send(`42["message","too early"]`)
	c.expectClosed(closeTimeout)
}

// Rule: a second CONNECT to an already joined namespace closes the connection
// (Node: "invalid state").
func TestSIODuplicateConnect(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send("40")
	c.expectClosed(closeTimeout)
}

// --- disconnect ------------------------------------------------------------------

// Port of "should disconnect from the main namespace": the Engine.IO session
// stays open (the next frame is a ping) and the namespace can be joined again.
func TestSIODisconnectMain(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send("41")
	c.autoPong = false
	if f := c.read(); f.op != ws.OpText || string(f.data) != "2" {
		t.Fatalf("got %v, want ping", f)
	}
	c.send("3")
	c.autoPong = true
	c.sioConnect("/", "")
	c.expectAlive()
}

// Rule: after DISCONNECT, an EVENT for that namespace is a protocol error and
// closes the connection (Node: "invalid state").
func TestSIOEventAfterDisconnect(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send("41")
	// Node handles a DISCONNECT on the next tick: an EVENT in the same read
	// batch still reaches the (now disconnected) socket and is dropped.
	e.sleep(settle)
	c.send(`42["message","gone"]`)
	c.expectClosed(closeTimeout)
}

// Port of "should connect then disconnect from a custom namespace".
func TestSIODisconnectCustom(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send("40/custom")
	f := c.next()
	parseConnectOK(t, strings.TrimPrefix(string(f.data), "4"), "/custom")
	c.expectSIOText("42/custom,", `["auth",{}]`)
	c.send("41/custom", `42["message","message to main namespace"]`)
	c.expectSIOText("42", `["message-back","message to main namespace"]`)
}

// Rule: several namespaces are multiplexed over one Engine.IO session, each
// with its own Socket.IO id; leaving one does not affect the other.
func TestSIOMultiplex(t *testing.T) {
	e := setup(t)
	c, hs := e.openWS(sioPath)
	sidMain := c.sioConnect("/", `{"n":1}`)
	sidCustom := c.sioConnect("/custom", `{"n":2}`)
	if sidMain == sidCustom || sidMain == hs.SID || sidCustom == hs.SID {
		t.Errorf("ids not distinct: engine %q, / %q, /custom %q", hs.SID, sidMain, sidCustom)
	}
	c.expectAlive()
	c.send("41/custom,")
	c.expectAlive()
	sidCustom2 := c.sioConnect("/custom", "")
	if sidCustom2 == sidCustom {
		t.Errorf("rejoining /custom reused the Socket.IO id %q", sidCustom)
	}
	c.send("41")
	// Node handles a DISCONNECT on the next tick, so a CONNECT that follows
	// at once still finds "/" joined ("invalid state", connection closed).
	// Let the DISCONNECT settle first.
	e.sleep(settle)
	// "/" left, "/custom" still joined: the session stays open.
	c.sioConnect("/", `{"again":true}`)
	c.expectAlive()
}

// --- message ---------------------------------------------------------------------

// Port of "should send a plain-text packet".
func TestSIOEvent(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send(`42["message",1,"2",{"3":[true]}]`)
	c.expectSIOText("42", `["message-back",1,"2",{"3":[true]}]`)
	// Events are handled in order.
	c.send(`42["message","a"]`, `42["message","b"]`, `42["message",null,-1.5,"€"]`)
	c.expectSIOText("42", `["message-back","a"]`)
	c.expectSIOText("42", `["message-back","b"]`)
	c.expectSIOText("42", `["message-back",null,-1.5,"€"]`)
}

// Port of "should send a packet with binary attachments": BINARY_EVENT with
// placeholders, attachments in the following binary frames, in order.
func TestSIOEventBinary(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send(`452-["message",` + ph0 + `,` + ph1 + `]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expectSIOText("452-", `["message-back",`+ph0+`,`+ph1+`]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
}

// Rule: placeholders may sit anywhere in the payload (nested in objects and
// arrays) and binary may be mixed with plain values.
func TestSIOEventBinaryNested(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send(`451-["message","x",{"a":[1,` + ph0 + `],"b":null}]`)
	c.sendBinary([]byte{9, 8, 7})
	c.expectSIOText("451-", `["message-back","x",{"a":[1,`+ph0+`],"b":null}]`)
	c.expectBinary([]byte{9, 8, 7})
}

// Port of "should send a plain-text packet with an ack": the ACK carries the
// event's id and the handler's arguments.
func TestSIOAck(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	c.expectSIOText("43456", `[1,"2",{"3":[false]}]`)
	// An ack without arguments is an empty array.
	c.send(`427["message-with-ack"]`)
	c.expectSIOText("437", `[]`)
}

// Port of "should send a packet with binary attachments and an ack": an ack
// with binary arguments is a BINARY_ACK.
func TestSIOAckBinary(t *testing.T) {
	e := setup(t)
	c := e.openSIO()
	c.send(`452-789["message-with-ack",` + ph0 + `,` + ph1 + `]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expectSIOText("462-789", `[`+ph0+`,`+ph1+`]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
}

// Rule: over HTTP long-polling, attachments travel as "b"+base64 packets right
// after their BINARY_EVENT / BINARY_ACK, in the same or later payloads.
func TestSIOBinaryPolling(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(sioPath)
	e.push(sioPath, sid, "40")
	e.pollPackets(sioPath, sid, 2) // CONNECT answer, auth
	e.push(sioPath, sid, `452-["message",`+ph0+`,`+ph1+`]`+recordSeparator+"bAQID"+recordSeparator+"bBAUG")
	got := e.pollPackets(sioPath, sid, 3)
	expectSIO(t, got[0], "452-", `["message-back",`+ph0+`,`+ph1+`]`)
	if !reflect.DeepEqual(got[1:], []string{"bAQID", "bBAUG"}) {
		t.Fatalf("attachments: got %q, want [bAQID bBAUG]", got[1:])
	}
	e.push(sioPath, sid, `451-12["message-with-ack",`+ph0+`]`+recordSeparator+"b/wAB")
	got = e.pollPackets(sioPath, sid, 2)
	expectSIO(t, got[0], "461-12", `[`+ph0+`]`)
	if got[1] != "b/wAB" {
		t.Fatalf("attachment: got %q, want b/wAB", got[1])
	}
}

// Rule: a Socket.IO connection survives the upgrade from polling to WebSocket:
// namespaces joined over polling keep working over the WebSocket.
func TestSIOUpgradeWhileConnected(t *testing.T) {
	e := setup(t)
	sid := e.openPolling(sioPath)
	e.push(sioPath, sid, `40{"token":"up"}`)
	got := e.pollPackets(sioPath, sid, 2)
	expectSIO(t, got[1], "42", `["auth",{"token":"up"}]`)
	c := e.probe(sioPath, sid)
	c.send("5")
	c.expectAlive()
	c.send(`42["message",` + ph0 + `]`)
	c.expectSIOText("42", `["message-back",`+ph0+`]`) // not binary: plain JSON
}

// Rule: an ACK whose id matches no pending server ack (or that has no id at
// all) is ignored, as Node does ("bad ack"); the connection stays open.
// The profile never emits with an ack, so every client ACK is of this kind.
func TestSIOUnexpectedAckIgnored(t *testing.T) {
	for _, p := range []string{`43999["x"]`, `43["x"]`, `461-5[` + ph0 + `]`} {
		t.Run(p, func(t *testing.T) {
			e := setup(t)
			c := e.openSIO()
			c.send(p)
			if strings.HasPrefix(p, "46") {
				c.sendBinary([]byte{1})
			}
			c.expectAlive()
		})
	}
}

// Rule (reference): an EVENT with no payload at all ("42", "421") is
// ignored and the connection stays open. The protocol text says an EVENT
// payload is mandatory and its absence MUST close the connection, but the
// reference parser lets it through (as an event with no name, which nobody
// handles) while it closes on a payload of the wrong shape (see
// TestSIOInvalidPackets). The suite holds the reference's behaviour.
func TestSIOEventWithoutPayload(t *testing.T) {
	forServers(t, func(t *testing.T, e *env) {
		c := e.openSIO()
		c.send("42", "421")
		c.expectAlive()
	})
}

// Rule (reference): an ACK with no payload at all ("431") calls the ack
// with no arguments (the reference parser checks a payload only when there
// is one); the connection stays open.
func TestSIOAckWithoutPayload(t *testing.T) {
	forServers(t, func(t *testing.T, e *env) {
		c := e.openSIO()
		c.send(`42["request-ack","x"]`)
		req := string(c.read().data)
		id, rest, ok := strings.Cut(strings.TrimPrefix(req, "42"), "[")
		if !ok || id == "" || rest != `"server-ack-request","x"]` {
			t.Fatalf("ack request %q", req)
		}
		c.send("43" + id)
		if got := string(c.read().data); got != `42["server-ack-result"]` {
			t.Fatalf("after an empty ack: %q, want the ack called with no arguments", got)
		}
		c.expectAlive()
	})
}

// Ports of "should close the connection upon invalid format (unknown packet
// type / invalid payload format / invalid ack id)", plus the other decoding
// and state errors of the protocol text and of the reference parser. Each
// closes the whole connection.
func TestSIOInvalidPackets(t *testing.T) {
	cases := []struct {
		name   string
		frames []any // string: text frame, []byte: binary frame
	}{
		{"unknown packet type", []any{"4abc"}},
		{"packet type 7", []any{`47["message"]`}},
		{"empty packet", []any{"4"}},
		{"event payload not an array", []any{"42{}"}},
		{"event payload a string", []any{`42"message"`}},
		{"event payload empty array", []any{"42[]"}},
		// Node requires the event name to be a string (or a number).
		{"event name an object", []any{`42[{}]`}},
		// Node refuses reserved event names such as "disconnect".
		{"reserved event name", []any{`42["disconnect"]`}},
		{"event payload bad JSON", []any{`42["message",`}},
		{"invalid ack id", []any{`42abc["message-with-ack",1,"2",{"3":[false]}]`}},
		{"ack payload not an array", []any{`431{}`}},
		{"attachments count not a number", []any{`45a-["message",` + ph0 + `]`, []byte{1}}},
		{"attachments count missing", []any{`45["message",` + ph0 + `]`, []byte{1}}},
		{"attachments count zero", []any{`450-["message"]`}},
		{"attachments count without dash", []any{`451["message",` + ph0 + `]`, []byte{1}}},
		// Node's decoder allows at most 10 attachments per packet.
		{"too many attachments", []any{`4511-["message"]`}},
		{"placeholder index out of range", []any{`451-["message",` + ph1 + `]`, []byte{1}}},
		{"binary frame without binary packet", []any{[]byte{1, 2, 3}}},
		{"text frame while awaiting attachments", []any{`452-["message",` + ph0 + `,` + ph1 + `]`, []byte{1}, `42["message","x"]`}},
		{"CONNECT_ERROR from client", []any{`44{"message":"nope"}`}},
		{"DISCONNECT with payload", []any{`41{}`}},
		{"event for a namespace not joined", []any{`42/custom,["message","x"]`}},
		{"event for an unknown namespace", []any{`42/random,["message","x"]`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			c := e.openSIO()
			for _, f := range tc.frames {
				switch v := f.(type) {
				case string:
					c.send(v)
				case []byte:
					// The server may already have closed: ignore write errors.
					_ = c.sendErr(ws.OpBinary, v)
				}
			}
			c.expectClosed(closeTimeout)
		})
	}
}
