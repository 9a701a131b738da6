package hostile

import (
	"context"
	"crypto/tls"
	"net/url"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/testcert"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// TestQUICConnectionsPerAddress: limits.max_tcp_connections_per_ip caps
// QUIC connections (WebTransport) per address too. Connections that never
// open a session are seen by no handler, so the cap is all that bounds
// them; a slot comes back when its connection ends.
func TestQUICConnectionsPerAddress(t *testing.T) {
	const cap = 4
	cert := testcert.New(t)
	base := testserver.Start(t, "default", func(c *config.Config) {
		c.StaticDir = ""
		c.RawWebSocket = nil
		c.Metrics.Listen = ""
		c.Limits.MaxConnectionsPerIP = cap / 2
		c.Limits.MaxTCPConnectionsPerIP = cap
		c.WebTransport = &config.WebTransport{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	})
	u, _ := url.Parse(base)
	wtURL := "https://" + u.Host + "/socket.io/"
	dial := func() (*webtransport.Session, error) {
		d := &webtransport.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"h3"}},
			QUICConfig:      &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, s, err := d.Dial(ctx, wtURL, nil)
		return s, err
	}
	var held []*webtransport.Session
	defer func() {
		for _, s := range held {
			_ = s.CloseWithError(0, "")
		}
	}()
	for i := range cap {
		s, err := dial()
		if err != nil {
			t.Fatalf("connection %d of %d refused: %v", i+1, cap, err)
		}
		held = append(held, s)
	}
	if s, err := dial(); err == nil {
		_ = s.CloseWithError(0, "")
		t.Fatalf("connection %d accepted past the cap", cap+1)
	}
	_ = held[0].CloseWithError(0, "")
	held = held[1:]
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := dial()
		if err == nil {
			held = append(held, s)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
