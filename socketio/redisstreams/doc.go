// Package redisstreams spreads Socket.IO namespaces over several nodes
// through a Redis stream, speaking the wire format of Node's
// @socket.io/redis-streams-adapter 0.3.x, so Switchboard and Node.js nodes
// can share one cluster. Unlike pub/sub (package socketio/redisadapter),
// a stream keeps what was sent: a node whose link to Redis was cut reads
// on from where it stopped, and connection state recovery works across
// the cluster, a client getting its socket back on whichever node it
// reconnects to.
//
// What goes where (prefix "socket.io", nsp the namespace name):
//
//	stream socket.io       broadcasts, socketsJoin/Leave, disconnectSockets:
//	                       entries {uid, nsp, type, data}, data being JSON,
//	                       or base64 MessagePack when it holds binary
//	channel prefix#nsp#    requests that expect answers (fetchSockets,
//	                       serverSideEmit, broadcasts with acks): MessagePack
//	channel prefix#nsp#uid# the answers, to the node that asked
//	key sio:session:<pid>  a client's session, for recovery
//
// Each node reads the stream with XREAD BLOCK, in its own goroutine, and
// skips its own entries, except its recoverable broadcasts (below). The
// number of nodes, which requests wait for, is the number of subscribers
// of prefix#nsp# (PUBSUB NUMSUB).
//
// # Connection state recovery, cluster-wide
//
// With socketio.Options.ConnectionStateRecovery set, the adapter is the
// namespace's socketio.SessionStore: a broadcast's offset is its entry id
// in the stream; when a client's connection is cut, its session is stored
// under sio:session:<pid> for MaxDisconnectionDuration; when it
// reconnects, to any node, the session is taken (GET and DEL) and the
// broadcasts it missed are read from the stream (XRANGE after its offset)
// and sent, in order, each with its offset. A recoverable broadcast (an
// event without acknowledgement, not volatile) reaches the local sockets
// from the stream too, as the other nodes' do, so that every socket of a
// node gets the cluster's broadcasts in the stream's order: a replay can
// then tell exactly which entries the socket missed and which it will
// get live. The cost: such a broadcast (Socket.Emit included, which with
// recovery on goes to the socket's own room through the adapter, as in
// the reference) reaches local sockets a Redis round trip later, and may
// come after what is sent directly meanwhile (acknowledgements, volatile
// or acknowledged events), as with the reference. The replay is bounded by RecoveryOptions.MaxPackets and by
// the engine's queue size; past either the client connects fresh. The
// stream's MaxLen bounds how far back a client can recover.
//
// Unlike the reference, which stores a session only when its socket
// disconnects, the adapter also keeps the sessions of connected sockets
// (socketio.LiveSessionStore), so that a node that dies without
// disconnecting them loses none: a session is written when its socket
// connects or recovers, when it joins or leaves a room and when its data
// is set (data mutated in place is as of the last write), with a TTL of
// MaxDisconnectionDuration plus the refresh period, which one goroutine
// per node refreshes, in pipelined batches, every MaxDisconnectionDuration/3
// (between 1s and 30s). Every write after the first is a compare-and-set
// against what the node wrote last: once a client reconnected elsewhere
// and that node took the session, the old node, which may not have seen
// the cut yet, never overwrites it, and ends its stale socket. So a
// client with its private id takes over its session from a socket still
// connected, where the reference would connect it fresh.
//
// What only a Switchboard node holds (values set with Socket.SetValue,
// such as an auth layer's claims) stays on the node: see
// socketio.SessionStore.
//
// # Outages
//
// A Redis outage never stops a node: local delivery goes on (without
// offsets), Healthy and Err report it, the reader and the subscription
// retry with exponential backoff, and the reader resumes after the last
// entry it read, so the entries the other nodes appended meanwhile are
// delivered. Requests and their answers, over pub/sub, are lost while
// Redis is down.
package redisstreams
