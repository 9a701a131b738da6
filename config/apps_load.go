package config

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// namespaceKey decodes the keys of a namespace other than name and app.
func (d *decoder) namespaceKey(ns *Namespace, key string, v *yaml.Node, p string) bool {
	switch key {
	case "auth":
		ns.Auth = defaultAuth()
		d.auth(v, p, ns.Auth)
	case "relay":
		d.relay(v, p, &ns.Relay)
	case "rooms":
		ns.Rooms = defaultRooms()
		d.rooms(v, p, ns.Rooms)
	case "backend":
		ns.Backend = defaultBackend()
		d.backend(v, p, ns.Backend)
	case "server_side":
		d.serverSide(v, p, &ns.ServerSide)
	default:
		return false
	}
	return true
}

func (d *decoder) auth(n *yaml.Node, path string, a *Auth) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "mode":
			d.str(v, p, &a.Mode)
		case "tokens":
			d.tokens(v, p, &a.Tokens)
		case "jwt":
			a.JWT = &JWT{}
			d.jwt(v, p, a.JWT)
		case "auth_field":
			d.str(v, p, &a.AuthField)
		case "query_param":
			d.str(v, p, &a.QueryParam)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) tokens(n *yaml.Node, path string, out *[]Token) {
	items, ok := d.sequence(n, path, "a list of {sub, token} mappings")
	if !ok {
		return
	}
	list := make([]Token, 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		var t Token
		d.mapping(it, p, func(key string, v *yaml.Node, kp string) bool {
			switch key {
			case "sub":
				d.str(v, kp, &t.Sub)
			case "token":
				d.str(v, kp, &t.Token)
			case "token_env":
				d.str(v, kp, &t.TokenEnv)
			default:
				return false
			}
			return true
		})
		list = append(list, t)
	}
	*out = list
}

func (d *decoder) jwt(n *yaml.Node, path string, j *JWT) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "algorithm":
			d.str(v, p, &j.Algorithm)
		case "secret":
			d.str(v, p, &j.Secret)
		case "secret_env":
			d.str(v, p, &j.SecretEnv)
		case "public_key_file":
			d.str(v, p, &j.PublicKeyFile)
		case "jwks_file":
			d.str(v, p, &j.JWKSFile)
		case "issuer":
			d.str(v, p, &j.Issuer)
		case "audience":
			d.str(v, p, &j.Audience)
		case "leeway":
			d.duration(v, p, &j.Leeway)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) relay(n *yaml.Node, path string, out *[]RelayRule) {
	items, ok := d.sequence(n, path, "a list of {event, to} mappings")
	if !ok {
		return
	}
	list := make([]RelayRule, 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		var r RelayRule
		var hasEvent, hasTo bool
		d.mapping(it, p, func(key string, v *yaml.Node, kp string) bool {
			switch key {
			case "event":
				hasEvent = true
				d.str(v, kp, &r.Event)
			case "to":
				hasTo = true
				d.str(v, kp, &r.To)
			case "rooms":
				d.optionalStrings(v, kp, &r.Rooms)
			case "attach_sender":
				d.boolean(v, kp, &r.AttachSender)
			default:
				return false
			}
			return true
		})
		if deref(it).Kind == yaml.MappingNode {
			if !hasEvent {
				d.errorf(it.Line, p, `missing key "event"`)
			}
			if !hasTo {
				d.errorf(it.Line, p, `missing key "to" (want %s)`, orList(relayTargets))
			}
		}
		list = append(list, r)
	}
	*out = list
}

func (d *decoder) serverSide(n *yaml.Node, path string, out *[]ServerSideRule) {
	items, ok := d.sequence(n, path, "a list of {event, reply} or {event, to: backend} mappings")
	if !ok {
		return
	}
	list := make([]ServerSideRule, 0, len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = it.Line
		var r ServerSideRule
		var hasEvent, hasAnswer bool
		d.mapping(it, p, func(key string, v *yaml.Node, kp string) bool {
			switch key {
			case "event":
				hasEvent = true
				d.str(v, kp, &r.Event)
			case "to":
				hasAnswer = true
				d.str(v, kp, &r.To)
			case "reply":
				hasAnswer = true
				if err := v.Decode(&r.Reply); err != nil {
					d.errorf(v.Line, kp, "%v", err)
				}
			default:
				return false
			}
			return true
		})
		if deref(it).Kind == yaml.MappingNode {
			if !hasEvent {
				d.errorf(it.Line, p, `missing key "event"`)
			}
			if !hasAnswer {
				d.errorf(it.Line, p, `missing key "reply" (the answer) or "to" (backend)`)
			}
		}
		list = append(list, r)
	}
	*out = list
}

func (d *decoder) rooms(n *yaml.Node, path string, r *Rooms) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "join_event":
			d.str(v, p, &r.JoinEvent)
		case "leave_event":
			d.str(v, p, &r.LeaveEvent)
		case "allow":
			d.optionalStrings(v, p, &r.Allow)
		case "max_per_socket":
			d.int(v, p, &r.MaxPerSocket)
		case "auto_join":
			d.optionalStrings(v, p, &r.AutoJoin)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) backend(n *yaml.Node, path string, b *Backend) {
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "url":
			d.str(v, p, &b.URL)
		case "timeout":
			d.duration(v, p, &b.Timeout)
		case "max_in_flight":
			d.int(v, p, &b.MaxInFlight)
		case "connect":
			d.boolean(v, p, &b.Connect)
		case "disconnect":
			d.boolean(v, p, &b.Disconnect)
		case "key":
			d.str(v, p, &b.Key)
		case "key_env":
			d.str(v, p, &b.KeyEnv)
		default:
			return false
		}
		return true
	})
}

func (d *decoder) api(n *yaml.Node, path string, out **API) {
	if isNull(deref(n)) {
		*out = nil
		return
	}
	a := &API{}
	d.mapping(n, path, func(key string, v *yaml.Node, p string) bool {
		switch key {
		case "key":
			d.str(v, p, &a.Key)
		case "key_env":
			d.str(v, p, &a.KeyEnv)
		case "expose_handshake_auth":
			d.boolean(v, p, &a.ExposeHandshakeAuth)
		default:
			return false
		}
		return true
	})
	*out = a
}
