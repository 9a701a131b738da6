package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchboard/switchboard/engineio"
)

// mountEcho serves the plain Engine.IO echo endpoint on r.
func (a *Server) mountEcho(r *gin.Engine, eopts engineio.Options) {
	a.echo = engineio.NewServer(newEcho, &eopts)
	r.Any(strings.TrimSuffix(a.cfg.EngineIOEcho.Path, "/")+"/*rest", gin.WrapH(a.echo))
}

// echo sends every message back: the plain Engine.IO endpoint of the
// conformance profile.
type echo struct{ s *engineio.Session }

func newEcho(s *engineio.Session) engineio.SessionHandler { return &echo{s} }

func (e *echo) OnMessage(data []byte, binary bool) {
	m := engineio.NewBinaryMessage(data)
	if !binary {
		m = engineio.NewTextMessage(data)
	}
	_ = e.s.Send(false, m)
}

func (e *echo) OnClose(engineio.CloseReason, error) {}
