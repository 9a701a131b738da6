// Package redisforward lets a cluster of Engine.IO servers run behind a
// load balancer without sticky sessions (plain round-robin): any node
// serves any request of any session, by forwarding it to the node that
// holds the session through Redis pub/sub. Nodes never connect to each
// other; they only need the same Redis.
//
// # How it works
//
// Each node has a tag, the first 8 characters of every session id it
// makes (the 120 random bits follow, so ids stay unguessable), and
// subscribes to its own channel, "<Key>-eio#<tag>". When a request names a
// session the node does not hold, the engine asks the Forwarder, which
// reads the owner's tag from the sid:
//
//   - A polling GET or POST is read on the receiving node (the POST body
//     with the engine's MaxPayload and BodyTimeout) and published to the
//     owner, which serves it with its own engine, with all its limits,
//     CORS and compression, and publishes the answer back. A long poll
//     waits on the owner as usual; a client that goes away cancels it.
//   - A WebSocket upgrade is tunnelled: the receiving node takes over the
//     client's connection and the owner serves the upgrade on a virtual
//     connection; the bytes then travel both ways as Redis messages, in
//     order, until either side closes.
//
// A request for a session whose owner has gone (nobody receives the
// message) gets the engine's usual HTTP 400 "Session ID unknown" at once,
// and the client reconnects. A forwarded request is never forwarded again.
//
// # Bounds
//
// Requests and tunnels in flight are capped per node each way
// (MaxPending; HTTP 503 past it). Each tunnel holds at most
// MaxTunnelBuffer unread bytes on either side, and writes to the client
// have the engine's WriteTimeout: a client or owner that cannot keep up
// loses its tunnel, like a slow consumer loses its session. A node that
// stops answering is noticed by the owner's heartbeat, or by the tunnel
// falling silent longer than a ping period.
//
// # Cost
//
// Forwarding adds a Redis round trip (two PUBLISHes) to each polling
// request and one PUBLISH to each tunnelled WebSocket write. Measured on
// a shared 2-core machine with Redis on loopback (the package's
// benchmarks): a polling POST takes about 0.08 ms served by the owner and
// 0.25 to 0.45 ms forwarded; a WebSocket message and its echo take about
// 0.04 ms on the owner's connection and 0.13 to 0.18 ms tunnelled. Sticky
// sessions remain cheaper;
// forwarding is for when the load balancer cannot have them.
//
// # Use
//
// Create the Forwarder, set it as the engine's Options.Forwarder, and
// Attach the engine (under Socket.IO, socketio.Server.Engine):
//
//	fwd, err := redisforward.New(redisforward.Options{Client: rdb})
//	opts := engineio.Options{Forwarder: fwd}
//	engine := engineio.NewServer(accept, &opts)
//	fwd.Attach(engine)
//
// At shutdown close the engine first, then the Forwarder.
package redisforward
