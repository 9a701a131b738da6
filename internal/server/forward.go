package server

import (
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/engineio/redisforward"
)

// newForwarder sets up adapter.forward_sessions: a Forwarder on the
// adapter's Redis client, set as the Socket.IO engine's (its engine is
// attached once the Socket.IO server exists). Nothing when off.
func (a *Server) newForwarder(engine *engineio.Options) error {
	if !a.cfg.Adapter.ForwardSessions {
		return nil
	}
	rdb, ok := a.redis.(redis.UniversalClient)
	if !ok {
		return errors.New("adapter.forward_sessions: needs the Redis client of a cluster adapter")
	}
	f, err := redisforward.New(redisforward.Options{Client: rdb, Key: a.cfg.Adapter.KeyPrefix, Logger: a.log})
	if err != nil {
		return err
	}
	a.forward = f
	engine.Forwarder = f
	return nil
}

// Forwarder returns the session forwarder, or nil when
// adapter.forward_sessions is off.
func (a *Server) Forwarder() *redisforward.Forwarder { return a.forward }
