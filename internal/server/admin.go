package server

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio/adminui"
)

// mountAdminUI instruments the Socket.IO server for the Admin UI and
// serves the UI's page, when enabled.
func (a *Server) mountAdminUI() error {
	c := a.cfg.AdminUI
	if !c.Enabled {
		return nil
	}
	adm, err := adminui.Instrument(a.io, adminui.Options{
		SocketIOPath: a.cfg.SocketIO.Path,
		Namespace:    c.Namespace,
		Username:     c.Auth.Username,
		PasswordHash: c.Auth.PasswordHash,
		Readonly:     c.Readonly,
		Production:   c.Mode == config.AdminModeProduction,
		Logger:       a.log,
		ClientIP:     adminClientIP(clientIPFunc(a.cfg.Limits.TrustedProxyPrefixes())),
		RedactQuery:  a.tokenQueryParams(),
	})
	if err != nil {
		return err
	}
	a.stops = append(a.stops, adm.Close)
	a.admin = adm
	a.prefix = c.Path
	a.prefixH = adm.Handler(c.Path)
	return nil
}

// adminClientIP adapts the per-address limits' client address rule (nil:
// the peer's address) to the Admin UI's login limit.
func adminClientIP(ip func(*http.Request) string) func(string, http.Header) string {
	if ip == nil {
		return nil
	}
	return func(remoteAddr string, header http.Header) string {
		return ip(&http.Request{RemoteAddr: remoteAddr, Header: header})
	}
}
