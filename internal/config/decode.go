package config

// Decoding hooks for the YAML library. An optional section starts from its
// defaults when the file names it; an empty list that may be left out
// becomes nil, so that a config survives a marshal/parse round trip.
//
// Each method decodes through a copy of its type without the method (to
// not call itself), named like the type in lower case: the library's
// messages name that type, and Parse matches them to the field by name.
// The methods use the library's older Unmarshaler form because its
// unmarshal function keeps the decoder's settings, strictness included.
// The library does not call them for null, which turns a section off
// (except in a namespace: see Namespace.UnmarshalYAML).

// UnmarshalYAML starts a cookie section from DefaultCookie.
func (c *Cookie) UnmarshalYAML(unmarshal func(any) error) error {
	type cookie Cookie
	*c = *DefaultCookie()
	return unmarshal((*cookie)(c))
}

// UnmarshalYAML starts an engineio_echo section from the default path.
func (e *EngineIOEcho) UnmarshalYAML(unmarshal func(any) error) error {
	type engineIOEcho EngineIOEcho
	*e = EngineIOEcho{Path: DefaultEngineIOEchoPath}
	return unmarshal((*engineIOEcho)(e))
}

// UnmarshalYAML starts a raw_websocket section from its defaults.
func (r *RawWebSocket) UnmarshalYAML(unmarshal func(any) error) error {
	type rawWebSocket RawWebSocket
	*r = *defaultRawWebSocket()
	return unmarshal((*rawWebSocket)(r))
}

// UnmarshalYAML decodes over c, with empty methods and headers nil.
func (c *CORS) UnmarshalYAML(unmarshal func(any) error) error {
	type cors CORS
	err := unmarshal((*cors)(c))
	nilIfEmpty(&c.Methods)
	nilIfEmpty(&c.Headers)
	return err
}

// UnmarshalYAML decodes a namespace, with empty lists nil.
func (ns *Namespace) UnmarshalYAML(unmarshal func(any) error) error {
	type namespace Namespace
	if err := unmarshal((*namespace)(ns)); err != nil {
		return err
	}
	nilIfEmpty(&ns.Relay)
	nilIfEmpty(&ns.ServerSide)
	// In a namespace, a section named without a value ("rooms:") is on,
	// with its defaults, as if it were {}.
	var keys map[string]any
	if err := unmarshal(&keys); err != nil {
		return err
	}
	null := func(key string) bool { v, ok := keys[key]; return ok && v == nil }
	if null("auth") {
		ns.Auth = defaultAuth()
	}
	if null("rooms") {
		ns.Rooms = defaultRooms()
	}
	if null("backend") {
		ns.Backend = defaultBackend()
	}
	return nil
}

// UnmarshalYAML starts an auth section from its defaults.
func (a *Auth) UnmarshalYAML(unmarshal func(any) error) error {
	type auth Auth
	*a = *defaultAuth()
	err := unmarshal((*auth)(a))
	nilIfEmpty(&a.Tokens)
	return err
}

// UnmarshalYAML decodes a relay rule, with empty rooms nil.
func (r *RelayRule) UnmarshalYAML(unmarshal func(any) error) error {
	type relayRule RelayRule
	err := unmarshal((*relayRule)(r))
	nilIfEmpty(&r.Rooms)
	return err
}

// UnmarshalYAML starts a rooms section from its defaults.
func (r *Rooms) UnmarshalYAML(unmarshal func(any) error) error {
	type rooms Rooms
	*r = *defaultRooms()
	err := unmarshal((*rooms)(r))
	nilIfEmpty(&r.Allow)
	nilIfEmpty(&r.AutoJoin)
	return err
}

// UnmarshalYAML starts a backend section from its defaults.
func (b *Backend) UnmarshalYAML(unmarshal func(any) error) error {
	type backend Backend
	*b = *defaultBackend()
	return unmarshal((*backend)(b))
}

// nilIfEmpty makes an empty list nil: the two mean the same, and a list
// marshalled with omitempty comes back nil.
func nilIfEmpty[T any](s *[]T) {
	if len(*s) == 0 {
		*s = nil
	}
}
