package hostile

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// What the Socket.IO layer holds for one connection: namespaces joined,
// CONNECTs, partial binary packets.
const (
	dynPattern     = "/dyn-[0-9]+"
	nspCap         = 20
	connectRate    = 10
	connectBurst   = 200
	sioMaxPayload  = 200_000
	heapSlackBytes = 8 << 20
)

// sioProfile adds a dynamic namespace to the hostile profile, with
// smaller namespace limits and a larger payload limit so that what one
// connection holds shows in the heap. The heartbeat is slower, so that
// attackers that do not read are not dropped for it while they send.
func sioProfile(c *config.Config) {
	c.SocketIO.PingInterval = 10 * time.Second
	c.SocketIO.PingTimeout = 10 * time.Second
	c.Namespaces = append(c.Namespaces, config.Namespace{Pattern: dynPattern, App: "bench"})
	c.SocketIO.MaxPayload = sioMaxPayload
	c.Limits.MaxNamespacesPerClient = nspCap
	c.Limits.NamespaceConnectsPerSecond = connectRate
	c.Limits.NamespaceConnectBurst = connectBurst
}

// TestHostileSocketIO attacks what the Socket.IO layer keeps per
// connection, on a server of its own (the profile has a dynamic
// namespace), with a bystander as in TestHostileInput.
func TestHostileSocketIO(t *testing.T) {
	s := startWithBystander(t, profile, sioProfile)

	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s *suite)
	}{
		{"namespaces per client", namespacesPerClient},
		{"namespace flood", namespaceFlood},
		{"CONNECT flood", connectFlood},
		{"namespace churn", namespaceChurn},
		{"legacy client past the namespace cap", legacyNamespaceCap},
		{"auth payloads across namespaces", authAcrossNamespaces},
		{"long room names", longRoomNames},
		{"attachments over max_payload", attachmentsOverPayload},
		{"EIO3 polling attachments pinning their bodies", pollingAttachmentsPinning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, s)
			s.waitBystander(t)
		})
	}
	t.Run("metrics", s.socketIOMetrics)
}

// waitIdle waits until the server has no session but the bystander's (as
// its metrics say), so that what earlier cases held is gone before a
// heap measurement.
func (s *suite) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		open := 0.0
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "switchboard_engine_sessions{"); ok {
				var v float64
				if _, err := fmt.Sscan(rest[strings.IndexByte(rest, '}')+1:], &v); err == nil {
					open += v
				}
			}
		}
		if open <= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v sessions still open, want only the bystander's", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heapInUse is the in-process server's live heap, after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// dialSIO opens a WebSocket session from a fresh address without joining
// any namespace.
func (s *suite) dialSIO(t *testing.T) *attacker {
	t.Helper()
	a, err := s.dialWS(t, s.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A connection can be in nspCap namespaces; past that, each CONNECT gets
// a CONNECT_ERROR and the connection, with its namespaces, stays. A
// namespace left frees its place.
func namespacesPerClient(t *testing.T, s *suite) {
	a := s.dialSIO(t)
	for i := range nspCap {
		a.send(fmt.Sprintf("40/dyn-%d,", i))
		if got := a.read(); !strings.HasPrefix(got, fmt.Sprintf(`40/dyn-%d,{"sid":`, i)) {
			t.Fatalf("CONNECT %d within the cap: %q", i, got)
		}
	}
	a.send("40/dyn-999,")
	if got, want := a.read(), `44/dyn-999,{"message":"too many namespaces"}`; got != want {
		t.Fatalf("CONNECT past the cap: %q, want %q", got, want)
	}
	// Still connected in the others.
	a.send(`42/dyn-3,["echo","x"]`)
	if got := a.read(); got != `42/dyn-3,["echo","x"]` {
		t.Fatalf("event after the refusal: %q", got)
	}
	a.send("41/dyn-0,")
	a.send("40/dyn-999,")
	if got := a.read(); !strings.HasPrefix(got, `40/dyn-999,{"sid":`) {
		t.Fatalf("CONNECT after leaving one: %q", got)
	}
}

// readAll reads a's messages until it closes or is quiet for quiet,
// counting them by prefix.
func readCounts(a *attacker, quiet time.Duration, prefixes ...string) map[string]int {
	counts := map[string]int{}
	for {
		m, err := a.readErr(quiet)
		if err != nil {
			return counts
		}
		for _, p := range prefixes {
			if strings.HasPrefix(m, p) {
				counts[p]++
			}
		}
	}
}

// One connection sending CONNECTs for ever new names holds at most nspCap
// namespaces, and they do not each get their own metric series: the heap
// does not grow with the names tried.
func namespaceFlood(t *testing.T, s *suite) {
	const n = 20_000
	s.waitIdle(t)
	before := heapInUse()
	var conns []*attacker
	for range 3 {
		a := s.dialSIO(t)
		conns = append(conns, a)
		done := make(chan map[string]int, 1)
		go func() { done <- readCounts(a, 2*time.Second, "40/", "44/") }()
		var b strings.Builder
		for i := range n {
			b.Reset()
			fmt.Fprintf(&b, "40/dyn-%d,", i)
			if err := a.ws.Write(ws.OpText, []byte(b.String())); err != nil {
				t.Fatalf("CONNECT %d: %v", i, err)
			}
		}
		counts := <-done
		t.Logf("%d CONNECTs: %d accepted, %d refused", n, counts["40/"], counts["44/"])
		if counts["40/"] > nspCap {
			t.Errorf("%d namespaces joined by one connection, cap %d", counts["40/"], nspCap)
		}
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) with %d connections holding their namespaces", before, after, grew, len(conns))
	if grew > heapSlackBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	for _, a := range conns {
		_ = a.conn.Close()
	}
}

// CONNECTs are rate limited per connection, whatever they join: a
// join-and-leave loop gets CONNECT_ERRORs past the burst.
func connectFlood(t *testing.T, s *suite) {
	const n = 1000
	a := s.dialSIO(t)
	start := time.Now()
	accepted, limited := 0, 0
	for range n {
		a.send("40/dyn-1,")
		switch got := a.read(); {
		case strings.HasPrefix(got, `40/dyn-1,{"sid":`):
			accepted++
			a.send("41/dyn-1,")
		case got == `44/dyn-1,{"message":"rate limit exceeded"}`:
			limited++
		default:
			t.Fatalf("answer to a CONNECT: %q", got)
		}
	}
	d := time.Since(start)
	t.Logf("%d CONNECTs in %v: %d accepted, %d rate limited", n, d, accepted, limited)
	if max := connectBurst + int(d.Seconds()*connectRate) + 10; accepted > max {
		t.Fatalf("%d of %d CONNECTs accepted in %v, want at most %d", accepted, n, d, max)
	}
	// Still connected, and let in again once the bucket refills.
	time.Sleep(300 * time.Millisecond)
	a.send("40/dyn-1,")
	if got := a.read(); !strings.HasPrefix(got, `40/dyn-1,{"sid":`) {
		t.Fatalf("CONNECT after the flood: %q", got)
	}
}

// Joining and leaving namespaces, over and over from many connections,
// leaves nothing behind once they are gone.
func namespaceChurn(t *testing.T, s *suite) {
	const conns, joins = 20, connectBurst / 2
	churn := func(base int) {
		for c := range conns {
			a := s.dialSIO(t)
			for j := range joins {
				a.send(fmt.Sprintf("40/dyn-%d,", base+c*joins+j))
				a.send(fmt.Sprintf("41/dyn-%d,", base+c*joins+j))
			}
			for j := range joins {
				if got := a.read(); !strings.HasPrefix(got, "40/") {
					t.Fatalf("connection %d, join %d: %q", c, j, got)
				}
			}
			_ = a.conn.Close()
		}
	}
	churn(100_000) // warm up: pools, maps at their size
	s.waitIdle(t)
	before := heapInUse()
	churn(200_000)
	s.waitIdle(t)
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) after %d joins and leaves", before, after, grew, conns*joins)
	if grew > 2<<20 {
		t.Errorf("heap grew by %d kB after the connections left", grew>>10)
	}
}

// A socket.io-client 2.x (Engine.IO v3) past the cap gets the v4 protocol's
// CONNECT_ERROR (an "error" event with the message) and stays connected.
func legacyNamespaceCap(t *testing.T, s *suite) {
	a, err := s.dialFrom(t, s.addr(), "/socket.io/?EIO=3&transport=websocket", wsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if open := a.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet: %q", open)
	}
	if got := a.read(); got != "40" { // "/" is joined at once
		t.Fatalf("v3 connect to /: %q", got)
	}
	if got := a.read(); got != `42["auth",{}]` {
		t.Fatalf("after connect: %q", got)
	}
	for i := 1; i < nspCap; i++ {
		a.send(fmt.Sprintf("40/dyn-%d", i))
		if got, want := a.read(), fmt.Sprintf("40/dyn-%d,", i); got != want {
			t.Fatalf("CONNECT %d within the cap: %q, want %q", i, got, want)
		}
	}
	a.send("40/dyn-999?token=x")
	if got, want := a.read(), `44/dyn-999,"too many namespaces"`; got != want {
		t.Fatalf("CONNECT past the cap: %q, want %q", got, want)
	}
	a.send(`42/dyn-3,["echo","x"]`)
	if got := a.read(); got != `42/dyn-3,["echo","x"]` {
		t.Fatalf("event after the refusal: %q", got)
	}
}

// Each socket keeps its CONNECT payload (the auth) for its life: a
// connection joining its nspCap namespaces with nearly max_payload of auth
// each would hold nspCap × max_payload. They are bounded by max_payload
// together; past it, the CONNECT gets a CONNECT_ERROR.
func authAcrossNamespaces(t *testing.T, s *suite) {
	const conns = 5
	auth := `{"token":"` + strings.Repeat("t", sioMaxPayload-1000) + `"}`
	s.waitIdle(t)
	before := heapInUse()
	var refused int
	for range conns {
		a := s.dialSIO(t)
		for i := range nspCap {
			a.send(fmt.Sprintf("40/dyn-%d,%s", i, auth))
			switch got := a.read(); {
			case strings.HasPrefix(got, fmt.Sprintf(`40/dyn-%d,{"sid":`, i)):
			case got == fmt.Sprintf(`44/dyn-%d,{"message":"auth payload too large"}`, i):
				refused++
			default:
				t.Fatalf("CONNECT %d: %q", i, got)
			}
		}
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) with %d connections each sending %d CONNECTs with %d bytes of auth; %d refused", before, after, grew, conns, nspCap, len(auth), refused)
	if grew > heapSlackBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	if refused != conns*(nspCap-1) {
		t.Errorf("%d CONNECTs refused, want all but the first of each connection, %d", refused, conns*(nspCap-1))
	}
}

// The conformance app joins the rooms a client names: up to
// max_rooms_per_socket of them, each name up to max_payload long, would be
// kept for the socket's life. Room names are bounded by max_payload in all.
func longRoomNames(t *testing.T, s *suite) {
	const conns, joins = 3, 30
	s.waitIdle(t)
	before := heapInUse()
	accepted := 0
	for range conns {
		a := s.connect(t)
		for i := range joins {
			room := fmt.Sprintf("%03d", i) + strings.Repeat("r", sioMaxPayload-1000)
			a.send(fmt.Sprintf(`42%d["join","%s"]`, i, room))
			switch got := a.read(); got {
			case fmt.Sprintf("43%d[true]", i):
				accepted++
			case fmt.Sprintf("43%d[false]", i):
			default:
				t.Fatalf("join %d: %q", i, got)
			}
		}
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) with %d sockets each asking to join %d rooms with %d-byte names; %d joined", before, after, grew, conns, joins, sioMaxPayload-997, accepted)
	if grew > heapSlackBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	if accepted != conns {
		t.Errorf("%d rooms joined, want one per socket, %d", accepted, conns)
	}
}

// attachmentFrame is a v4 binary attachment of n bytes.
func attachmentFrame(n int) []byte { return make([]byte, n) }

// A binary packet's text and attachments together may not pass
// max_payload: a header announcing 10 attachments cannot make the server
// hold 10 × max_payload while it waits for the last.
func attachmentsOverPayload(t *testing.T, s *suite) {
	const conns, atts = 10, 10
	s.waitIdle(t)
	before := heapInUse()
	var as []*attacker
	for range conns {
		a := s.dialSIO(t)
		a.send("40")
		if got := a.read(); !strings.HasPrefix(got, "40{") {
			t.Fatalf("connect: %q", got)
		}
		a.read() // the greeting
		var ph []string
		for i := range atts {
			ph = append(ph, fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i))
		}
		a.send(fmt.Sprintf(`45%d-["message",%s]`, atts, strings.Join(ph, ",")))
		for range atts - 1 {
			if err := a.ws.Write(ws.OpBinary, attachmentFrame(sioMaxPayload-1000)); err != nil {
				break // closed: what the fix does
			}
		}
		as = append(as, a)
	}
	time.Sleep(500 * time.Millisecond) // the last frames reach the server
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) with %d connections each sending %d attachments of %d bytes", before, after, grew, conns, atts-1, sioMaxPayload-1000)
	if grew > heapSlackBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	for _, a := range as {
		a.expectClosed()
	}
}

// v3 polling: each attachment may come in its own POST, a slice of it.
// A pending packet must not keep each whole body alive: ten 1-byte
// attachments padded with ignored noop packets to nearly max_payload
// would hold 10 bodies.
func pollingAttachmentsPinning(t *testing.T, s *suite) {
	const conns, atts = 10, 10
	s.waitIdle(t)
	before := heapInUse()
	type session struct {
		c   *http.Client
		sid string
	}
	var ss []session
	for range conns {
		c := s.httpClient(s.addr())
		res, err := c.Get(s.base + "/socket.io/?EIO=3&transport=polling&b64=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		i := strings.Index(string(b), `"sid":"`)
		if i < 0 {
			t.Fatalf("v3 handshake: %q", b)
		}
		sid := string(b[i+7:])
		sid = sid[:strings.IndexByte(sid, '"')]
		u := s.base + "/socket.io/?EIO=3&transport=polling&sid=" + sid
		post := func(body []byte, binary bool) {
			t.Helper()
			ct := "text/plain;charset=UTF-8"
			if binary {
				ct = "application/octet-stream"
			}
			res, err := c.Post(u, ct, strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST: status %d", res.StatusCode)
			}
		}
		var ph []string
		for i := range atts {
			ph = append(ph, fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i))
		}
		header := fmt.Sprintf(`45%d-["message",%s]`, atts, strings.Join(ph, ","))
		post([]byte(fmt.Sprintf("%d:%s", len(header), header)), false)
		for range atts - 1 {
			post(v3BinaryBody(sioMaxPayload-100), true)
		}
		ss = append(ss, session{c, sid})
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	t.Logf("heap %d -> %d (%+d bytes) with %d sessions each holding %d 1-byte attachments", before, after, grew, conns, atts-1)
	if grew > heapSlackBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	for _, x := range ss {
		// Leave: a close packet.
		res, err := x.c.Post(s.base+"/socket.io/?EIO=3&transport=polling&sid="+x.sid, "text/plain;charset=UTF-8", strings.NewReader("1:1"))
		if err == nil {
			res.Body.Close()
		}
	}
}

// v3BinaryBody is a v3 binary polling payload of about size bytes: a
// 1-byte binary message (an attachment), then a noop padded to size.
func v3BinaryBody(size int) []byte {
	rec := func(b []byte, kind byte, data []byte) []byte {
		b = append(b, kind)
		for _, d := range fmt.Sprint(len(data)) {
			b = append(b, byte(d-'0'))
		}
		b = append(b, 0xFF)
		return append(b, data...)
	}
	body := rec(nil, 1, []byte{4, 'x'}) // binary message packet, 1 byte
	pad := "6" + strings.Repeat("p", size-len(body)-16)
	return rec(body, 0, []byte(pad))
}

// socketIOMetrics checks that dynamic namespaces are one metric series,
// labelled by their pattern, and that the refusals are counted.
func (s *suite) socketIOMetrics(t *testing.T) {
	a := s.dialSIO(t)
	for i := range 5 {
		a.send(fmt.Sprintf("40/dyn-%d,", i))
		if got := a.read(); !strings.HasPrefix(got, "40/") {
			t.Fatalf("CONNECT: %q", got)
		}
	}
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	t.Logf("/metrics: %d bytes", len(b))
	if strings.Contains(body, `namespace="/dyn-`) {
		t.Error("a dynamic namespace has metric series of its own")
	}
	label := `namespace="^(?:` + dynPattern + `)$"`
	if !strings.Contains(body, `switchboard_connects_total{`+label+`}`) {
		t.Errorf("no switchboard_connects_total{%s}", label)
	}
	if len(b) > 200_000 {
		t.Errorf("/metrics is %d bytes", len(b))
	}
	for _, kind := range []string{"max_namespaces_per_client", "namespace_connects_per_second", "max_payload"} { // max_payload: attachments and auth
		if !strings.Contains(body, `limit_rejections_total{kind="`+kind+`"}`) ||
			strings.Contains(body, `limit_rejections_total{kind="`+kind+`"} 0`+"\n") {
			t.Errorf("limit_rejections_total{kind=%q}: none counted", kind)
		}
	}
}
