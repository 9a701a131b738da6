package socketio

// Values attached to a socket by independent layers (an auth middleware,
// a relay engine, an application) that must not overwrite each other's
// SetData. Keys work like context.Context keys: each package uses an
// unexported key type, so values cannot collide.

// SetValue stores v with the socket under key (a comparable value, best an
// unexported type of the calling package). A nil v removes the key.
func (s *Socket) SetValue(key, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == nil {
		delete(s.values, key)
		return
	}
	if s.values == nil {
		s.values = make(map[any]any, 1)
	}
	s.values[key] = v
}

// Value returns the value stored under key with SetValue, or nil.
func (s *Socket) Value(key any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[key]
}

// OnUnhandled registers the handler for events that have neither a socket
// nor a namespace handler (by default they are dropped and logged at debug
// level). Relay rules use it to count what they drop.
func (n *Namespace) OnUnhandled(h EventHandler) {
	n.mu.Lock()
	n.unhandled = h
	n.mu.Unlock()
}

func (n *Namespace) unhandledHandler() EventHandler {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.unhandled
}

// Handles reports whether the namespace has a handler for event, so that
// layers adding handlers can refuse to replace another's.
func (n *Namespace) Handles(event string) bool {
	return n.handler(event) != nil
}
