package engineio

// UpgradeHandler is implemented by a SessionHandler that wants to know
// when its session moves from long-polling to WebSocket (the Socket.IO
// Admin UI shows each client's transport). OnUpgrade is called like the
// other SessionHandler methods: never concurrently with them, and never
// after OnClose.
type UpgradeHandler interface {
	OnUpgrade()
}

// upgraded tells the handler, if it asks, that the session is on
// WebSocket now.
func (s *Session) upgraded() {
	s.srv.opts.Logger.Debug("engineio: session upgraded", "transport", "websocket", "remote", s.hs.RemoteAddr)
	h, ok := s.handler.(UpgradeHandler)
	if !ok {
		return
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if !s.ended.Load() {
		h.OnUpgrade()
	}
}
