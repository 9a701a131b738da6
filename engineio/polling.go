package engineio

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// servePoll answers a long-polling GET: it waits until something is queued
// (a ping at the latest after PingInterval) and returns all of it.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.ws != nil || s.state == stateClosed {
		// Upgraded sessions no longer accept polling requests.
		s.mu.Unlock()
		writeRequestError(w, errBadRequest)
		return
	}
	if s.polling {
		// At most one pending GET per session: a second one is a broken
		// or malicious client; the first GET gets the close packet.
		s.mu.Unlock()
		writeRequestError(w, errBadRequest)
		s.close(ReasonTransportError, errors.New("engineio: overlapping polling requests"))
		return
	}
	if (s.probe != nil || s.accepting > 0) && !s.awaitUpgrade(r) {
		s.mu.Unlock()
		writeRequestError(w, errBadRequest)
		return
	}
	s.polling = true
	for len(s.queue) == 0 && s.state == stateOpen && !s.upgrading && s.ws == nil {
		s.mu.Unlock()
		select {
		case <-s.poll:
		case <-r.Context().Done():
			s.mu.Lock()
			s.polling = false
			s.mu.Unlock()
			s.close(ReasonTransportClose, errors.New("engineio: poll request closed prematurely"))
			return
		}
		s.mu.Lock()
	}
	var msgs []*Message
	switch {
	case s.ws != nil:
		// Upgrade completed while we waited: the queue belongs to the
		// WebSocket now. Release the GET.
		msgs = []*Message{msgNoop}
	case len(s.queue) > 0:
		msgs = s.queue
		s.queue, s.queueBytes = nil, 0
		if s.state != stateOpen {
			msgs = append(msgs, s.closeMsg)
		}
	case s.state != stateOpen:
		msgs = []*Message{s.closeMsg}
	default: // upgrading
		msgs = []*Message{msgNoop}
	}
	s.polling = false
	done := s.state != stateOpen
	s.mu.Unlock()
	// The wait is over: the response must now reach the client within
	// WriteTimeout, or one that stopped reading would hold this goroutine
	// and the messages forever. net/http lifts the deadline once the
	// response is out. (A ResponseWriter that cannot set one, a wrapper
	// without Unwrap, leaves the write unbounded here.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	s.writePolling(w, r.Header.Get("Accept-Encoding"), msgs)
	if done {
		s.finish()
	}
}

// upgradeRaceGrace is how long a GET that comes while a WebSocket probes
// the session waits for the upgrade to complete.
const upgradeRaceGrace = 50 * time.Millisecond

// awaitUpgrade is called, with s.mu held, for a GET that comes while a
// WebSocket probes the session (or is being accepted to). The client may have sent its probe and
// upgrade packets before this GET: the Node server, reading in arrival
// order, has then upgraded the session and refuses the GET. Our reader
// may not have got to them yet, so the GET waits up to upgradeRaceGrace
// for the upgrade; it reports false if the session upgraded meanwhile.
func (s *Session) awaitUpgrade(r *http.Request) bool {
	s.polling = true // what is queued meanwhile wakes us through s.poll
	deadline := time.Now().Add(upgradeRaceGrace)
	for s.ws == nil && (s.probe != nil || s.accepting > 0) && s.state == stateOpen {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		s.mu.Unlock()
		t := time.NewTimer(left)
		select {
		case <-s.poll:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		s.mu.Lock()
	}
	s.polling = false
	return s.ws == nil
}

// servePost reads a payload of packets sent by the client.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	max := s.srv.opts.MaxPayload
	if r.ContentLength > max {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		s.srv.stats.rejected(LimitMaxPayload)
		s.close(ReasonTransportError, errPayloadTooBig)
		return
	}
	s.mu.Lock()
	if s.ws != nil || s.state != stateOpen {
		s.mu.Unlock()
		writeRequestError(w, errBadRequest)
		return
	}
	if s.posting {
		s.mu.Unlock()
		writeRequestError(w, errBadRequest)
		s.close(ReasonTransportError, errors.New("engineio: overlapping data requests"))
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	// A body must come in time (net/http clears the deadline once it has
	// been read to its end). A ResponseWriter that cannot set one (a
	// wrapper without Unwrap) leaves the read unbounded here.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.srv.opts.BodyTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			s.srv.stats.rejected(LimitBodyTimeout)
			writeRequestError(w, errBodyTimeout)
		} else {
			writeRequestError(w, errBadRequest)
		}
		s.close(ReasonTransportError, err)
		return
	}
	if int64(len(body)) > max {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		s.srv.stats.rejected(LimitMaxPayload)
		s.close(ReasonTransportError, errPayloadTooBig)
		return
	}
	if s.jsonp != "" {
		body, _ = jsonpData(body) // nil if invalid: a parse error below
	}
	if s.eio3 {
		err = decodePayloadV3(body, r.Header.Get("Content-Type") == "application/octet-stream", s.onPacket)
	} else {
		err = decodePayload(body, s.onPacket)
	}
	switch {
	case err == nil, errors.Is(err, errClosedByPeer):
	case errors.Is(err, errInvalidPacket):
		writeRequestError(w, errBadRequest)
		s.close(ReasonParseError, err)
		return
	default:
		writeRequestError(w, errBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
