package server

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisadapter"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// newSocketIO creates the Socket.IO server on the configured adapter; eopts
// are the Engine.IO options shared with the echo endpoint.
func (a *Server) newSocketIO(eopts engineio.Options) error {
	newAdapter, err := a.newAdapter(a.cfg.Adapter)
	if err != nil {
		return err
	}
	engine := socketIOEngine(a.cfg, eopts)
	if err := a.newForwarder(&engine); err != nil {
		return err
	}
	a.io = socketio.NewServer(ioOptions(a.cfg, engine, newAdapter, a.log))
	if a.forward != nil {
		a.forward.Attach(a.io.Engine())
	}
	return nil
}

// newAdapter returns the socketio.Options.NewAdapter for the configured
// adapter (nil: in memory).
func (a *Server) newAdapter(ac config.Adapter) (func(*socketio.Namespace) socketio.Adapter, error) {
	if ac.Type != config.AdapterRedis && ac.Type != config.AdapterRedisStreams {
		return nil, nil
	}
	ropts, err := redis.ParseURL(ac.URL)
	if err != nil {
		return nil, fmt.Errorf("adapter.url: %w", err)
	}
	// Fail fast while Redis is down: the cluster counts the outage and
	// keeps serving local clients rather than waiting on a dead socket.
	ropts.DialTimeout = 2 * time.Second
	ropts.MaxRetries = 1
	client := redis.NewClient(ropts)
	if ac.Type == config.AdapterRedisStreams {
		return a.newStreamsAdapter(ac, client)
	}
	c, err := redisadapter.New(redisadapter.Options{
		Client:         client,
		Key:            ac.KeyPrefix,
		RequestTimeout: ac.RequestTimeout,
		Logger:         a.log,
		Stats:          a.AdapterStats(),
	})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	a.cluster, a.redis = c, client
	// Not critical: without Redis the node still serves its own clients
	// (readiness says "degraded").
	a.Health().Add("redis", false, func(context.Context) error { return c.Err() })
	return c.NewAdapter, nil
}

// newStreamsAdapter starts the Redis Streams cluster link on client.
func (a *Server) newStreamsAdapter(ac config.Adapter, client *redis.Client) (func(*socketio.Namespace) socketio.Adapter, error) {
	c, err := redisstreams.New(redisstreams.Options{
		Client:           client,
		StreamName:       ac.StreamName,
		ChannelPrefix:    ac.KeyPrefix,
		MaxLen:           ac.MaxLen,
		SessionKeyPrefix: ac.SessionKeyPrefix,
		RequestTimeout:   ac.RequestTimeout,
		// A stream entry is one broadcast: as large as a client may send.
		MaxMessageBytes: max(int(a.cfg.SocketIO.MaxPayload)*2, 1<<20),
		Logger:          a.log,
		Stats:           a.AdapterStats(),
	})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	a.streams, a.redis = c, client
	// Not critical, as with type redis: local clients are still served.
	a.Health().Add("redis", false, func(context.Context) error { return c.Err() })
	return c.NewAdapter, nil
}

// StreamsCluster returns the Redis Streams cluster link, or nil unless the
// adapter type is redis-streams.
func (a *Server) StreamsCluster() *redisstreams.Cluster { return a.streams }

// Cluster returns the Redis cluster link, or nil with the memory adapter.
// Its Healthy and Err methods tell whether the node reaches the cluster.
func (a *Server) Cluster() *redisadapter.Cluster { return a.cluster }
