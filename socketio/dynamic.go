package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// Dynamic namespaces, as the reference's io.of(regexp | function): a parent
// namespace decides which names exist; a client connecting to one that
// does not exist yet creates it as a child of the first parent (in the
// order they were registered) that accepts the name. A child runs its
// parent's middlewares and handlers (also those registered later) and has
// rooms of its own. Emitting on a parent emits on every child.

// NamespaceFunc decides whether the namespace name exists; auth is the
// connecting client's CONNECT payload (nil if none). It runs on the
// connecting client's goroutine and must be safe for concurrent use.
type NamespaceFunc func(name string, auth json.RawMessage) bool

// dynamic is what a parent namespace has of its own.
type dynamic struct {
	match   NamespaceFunc
	pattern string // OfRegexp's, for Stats

	mu       sync.RWMutex
	children []*Namespace
}

// OfFunc returns a new parent namespace whose children are the namespaces
// fn accepts. Register middlewares and handlers on it as on any namespace.
// The parent itself is named "/_0", "/_1"... as in the reference, and
// cannot be connected to.
//
// An accepted name is a namespace (with its adapter) while it has sockets;
// once the last has left it is removed, unless
// Options.KeepEmptyChildNamespaces is set (Node's default): then it stays
// for the server's life, and a function that accepts unbounded names lets
// clients create unbounded namespaces.
func (s *Server) OfFunc(fn NamespaceFunc) *Namespace { return s.ofFunc(fn, "") }

func (s *Server) ofFunc(fn NamespaceFunc, pattern string) *Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &Namespace{name: "/_" + strconv.Itoa(len(s.parents)), srv: s, dyn: &dynamic{match: fn, pattern: pattern}}
	n.adapter = &parentAdapter{n: n}
	s.parents = append(s.parents, n)
	return n
}

// OfRegexp is OfFunc with a pattern that must match the whole name
// (anchor it, e.g. `^/room-\d+$`: an unanchored pattern matches any name
// containing it).
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.ofFunc(func(name string, _ json.RawMessage) bool { return re.MatchString(name) }, re.String())
}

// Children returns the namespaces a parent namespace has created so far
// (none for other namespaces).
func (n *Namespace) Children() []*Namespace {
	if n.dyn == nil {
		return nil
	}
	n.dyn.mu.RLock()
	defer n.dyn.mu.RUnlock()
	return slices.Clone(n.dyn.children)
}

// counters returns the namespace's counters: a child counts in its
// parent's, so that monitoring has one series per pattern, not one per
// name a client made up.
func (n *Namespace) counters() *nspStats {
	if n.parent != nil {
		return &n.parent.stats
	}
	return &n.stats
}

// Parent returns the parent namespace of a dynamically created namespace,
// or nil.
func (n *Namespace) Parent() *Namespace { return n.parent }

// lookupNamespace returns the namespace a CONNECT names: an existing one,
// or a new child of the first parent that accepts the name; nil if none.
func (s *Server) lookupNamespace(name string, auth json.RawMessage) *Namespace {
	s.mu.RLock()
	n := s.nsps[name]
	if n != nil && n.parent != nil {
		n.connecting.Add(1) // under s.mu: a cleanup cannot remove it now
	}
	parents := s.parents
	s.mu.RUnlock()
	if n != nil || len(parents) == 0 {
		return n
	}
	for _, p := range parents {
		if !p.dyn.match(name, auth) {
			continue
		}
		s.mu.Lock()
		if n = s.nsps[name]; n == nil { // another client may have won the race
			n = s.newNamespace(name, p)
			s.nsps[name] = n
			p.dyn.mu.Lock()
			p.dyn.children = append(p.dyn.children, n)
			p.dyn.mu.Unlock()
		}
		if n.parent != nil {
			n.connecting.Add(1)
		}
		s.mu.Unlock()
		return n
	}
	return nil
}

// connectDone ends what lookupNamespace began: the client has joined the
// namespace, or failed to.
func (n *Namespace) connectDone() {
	if n.parent != nil {
		n.connecting.Add(-1)
		n.cleanupIfEmpty()
	}
}

// cleanupIfEmpty removes a child namespace that has no socket and no
// client connecting to it, unless Options.KeepEmptyChildNamespaces is set
// (the reference's cleanupEmptyChildNamespaces: true): clients cannot then
// make the server hold one namespace per name they ever tried.
func (n *Namespace) cleanupIfEmpty() {
	s := n.srv
	if n.parent == nil || s.opts.KeepEmptyChildNamespaces {
		return
	}
	s.mu.Lock()
	if s.nsps[n.name] != n || n.connecting.Load() > 0 || n.adapter.Len() > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.nsps, n.name)
	s.mu.Unlock()
	p := n.parent.dyn
	p.mu.Lock()
	if i := slices.Index(p.children, n); i >= 0 {
		p.children = slices.Delete(p.children, i, i+1)
	}
	p.mu.Unlock()
	_ = n.adapter.Close()
}

// Handler tables: a child's own first (handlers added with Of(name) once it
// exists), then its parent's.

func (n *Namespace) handler(event string) EventHandler {
	if h := n.ownHandler(event); h != nil || n.parent == nil {
		return h
	}
	return n.parent.ownHandler(event)
}

func (n *Namespace) connectHooks() ([]Middleware, []func(*Socket)) {
	n.mu.RLock()
	mws, fns := n.middlewares, n.onConnection
	n.mu.RUnlock()
	if p := n.parent; p != nil {
		p.mu.RLock()
		mws = append(slices.Clip(p.middlewares), mws...)
		fns = append(slices.Clip(p.onConnection), fns...)
		p.mu.RUnlock()
	}
	return mws, fns
}

func (n *Namespace) disconnectHooks() []func(*Socket, DisconnectReason) {
	n.mu.RLock()
	fns := n.onDisconnect
	n.mu.RUnlock()
	if p := n.parent; p != nil {
		p.mu.RLock()
		fns = append(slices.Clip(p.onDisconnect), fns...)
		p.mu.RUnlock()
	}
	return fns
}

// parentAdapter is a parent namespace's adapter: it has no sockets of its
// own and passes broadcasts on to every child's adapter. The packet is
// encoded once per child, since the namespace is part of it.
type parentAdapter struct{ n *Namespace }

func (a *parentAdapter) each(fn func(Adapter)) {
	for _, c := range a.n.Children() {
		fn(c.adapter)
	}
}

func (a *parentAdapter) AddSocket(*Socket)            {}
func (a *parentAdapter) RemoveSocket(*Socket)         {}
func (a *parentAdapter) Join(*Socket, ...string)      {}
func (a *parentAdapter) Leave(*Socket, string)        {}
func (a *parentAdapter) SocketRooms(*Socket) []string { return nil }

func (a *parentAdapter) Rooms() []string {
	var out []string
	a.each(func(c Adapter) { out = append(out, c.Rooms()...) })
	slices.Sort(out)
	return slices.Compact(out)
}

func (a *parentAdapter) RoomSize(room string) int {
	n := 0
	a.each(func(c Adapter) { n += c.RoomSize(room) })
	return n
}

func (a *parentAdapter) LocalSockets() []*Socket {
	var out []*Socket
	a.each(func(c Adapter) { out = append(out, c.LocalSockets()...) })
	return out
}

func (a *parentAdapter) Len() int {
	n := 0
	a.each(func(c Adapter) { n += c.Len() })
	return n
}

func (a *parentAdapter) Apply(opts *BroadcastOptions, fn func(*Socket)) {
	a.each(func(c Adapter) { c.Apply(opts, fn) })
}

// forChild is p for one child namespace: the same event, arguments and
// ack id, under the child's name.
func forChild(c *Namespace, p *Packet) *Packet {
	return NewPacket(c.name, p.AckID(), p.Event(), p.Args()...)
}

func (a *parentAdapter) Broadcast(p *Packet, opts *BroadcastOptions) error {
	var err error
	for _, c := range a.n.Children() {
		if e := c.adapter.Broadcast(forChild(c, p), opts); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// BroadcastWithAck broadcasts in every child: each child's nodes report
// through onCount as if they were the parent's, and their sum is the
// parent's node count.
func (a *parentAdapter) BroadcastWithAck(p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Args, error)) (int, error) {
	nodes := 0
	var err error
	for _, c := range a.n.Children() {
		n, e := c.adapter.BroadcastWithAck(forChild(c, p), opts, onCount, onAck)
		if e != nil {
			if err == nil {
				err = e
			}
			continue
		}
		nodes += n
	}
	if nodes == 0 && err != nil {
		return 0, err
	}
	return nodes, nil
}

func (a *parentAdapter) FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	var err error
	for _, c := range a.n.Children() {
		ss, e := c.adapter.FetchSockets(ctx, opts)
		out = append(out, ss...)
		err = errors.Join(err, e)
	}
	return out, err
}

func (a *parentAdapter) AddSockets(opts *BroadcastOptions, rooms []string) error {
	var err error
	a.each(func(c Adapter) { err = errors.Join(err, c.AddSockets(opts, rooms)) })
	return err
}

func (a *parentAdapter) DelSockets(opts *BroadcastOptions, rooms []string) error {
	var err error
	a.each(func(c Adapter) { err = errors.Join(err, c.DelSockets(opts, rooms)) })
	return err
}

func (a *parentAdapter) DisconnectSockets(opts *BroadcastOptions, closeConn bool) error {
	var err error
	a.each(func(c Adapter) { err = errors.Join(err, c.DisconnectSockets(opts, closeConn)) })
	return err
}

func (a *parentAdapter) AllRooms(ctx context.Context) ([]string, error) {
	var out []string
	var err error
	a.each(func(c Adapter) {
		rooms, e := c.AllRooms(ctx)
		out = append(out, rooms...)
		err = errors.Join(err, e)
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

func (a *parentAdapter) ServerSideEmit(ctx context.Context, p *Packet, wantAck bool) ([]Args, error) {
	var out []Args
	var err error
	for _, c := range a.n.Children() {
		answers, e := c.adapter.ServerSideEmit(ctx, forChild(c, p), wantAck)
		out = append(out, answers...)
		err = errors.Join(err, e)
	}
	return out, err
}

func (a *parentAdapter) Close() error { return nil }
