//go:build linux

package engineio

import (
	"errors"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// netpoller watches idle WebSocket connections with one epoll instance, so
// that an idle connection holds neither a goroutine (8 KiB of stack at
// least) nor a read buffer. When a connection becomes readable, a goroutine
// reads what has arrived, then hands the connection back (EPOLLONESHOT:
// one wake-up per arming, so a connection is never read by two goroutines).
type netpoller struct {
	epfd int

	mu    sync.Mutex
	conns map[int32]*pollConn
}

type pollConn struct {
	raw   syscall.RawConn
	fd    int32
	ready func(*pollConn) // runs in a new goroutine when the connection is readable
}

var (
	pollerOnce sync.Once
	poller     *netpoller
)

// getPoller returns the process's netpoller, or nil if epoll is unavailable.
func getPoller() *netpoller {
	pollerOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		poller = &netpoller{epfd: fd, conns: make(map[int32]*pollConn)}
		go poller.loop()
	})
	return poller
}

var errNotPollable = errors.New("engineio: connection cannot be polled")

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// watch registers conn; ready is called once the next time it is readable.
func (p *netpoller) watch(conn net.Conn, ready func(*pollConn)) (*pollConn, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errNotPollable // e.g. TLS: read it with a goroutine
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	pc := &pollConn{raw: raw, ready: ready}
	var cerr error
	err = raw.Control(func(fd uintptr) {
		pc.fd = int32(fd)
		p.mu.Lock()
		p.conns[pc.fd] = pc
		p.mu.Unlock()
		ev := unix.EpollEvent{Events: pollEvents, Fd: pc.fd}
		cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.forget(pc)
		return nil, err
	}
	return pc, nil
}

// rearm asks for the next readiness event. Control keeps the descriptor
// from being closed (and its number reused) while we touch it.
func (p *netpoller) rearm(pc *pollConn) error {
	op := rearmOps.Get().(*rearmOp)
	op.epfd, op.fd = p.epfd, pc.fd
	err := pc.raw.Control(op.run)
	if err == nil {
		err = op.err
	}
	*op = rearmOp{run: op.run}
	rearmOps.Put(op)
	return err
}

// rearmOp is rearm's callback for Control with its arguments and result.
// They are pooled, with the callback bound once: a closure made per call
// would be two allocations per message read on an idle connection.
type rearmOp struct {
	epfd int
	fd   int32
	err  error
	run  func(fd uintptr)
}

var rearmOps = sync.Pool{New: func() any {
	op := new(rearmOp)
	op.run = op.ctl
	return op
}}

func (op *rearmOp) ctl(fd uintptr) {
	ev := unix.EpollEvent{Events: pollEvents, Fd: op.fd}
	op.err = unix.EpollCtl(op.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
}

// forget drops pc; closing the descriptor removes it from epoll.
func (p *netpoller) forget(pc *pollConn) {
	p.mu.Lock()
	if p.conns[pc.fd] == pc {
		delete(p.conns, pc.fd)
	}
	p.mu.Unlock()
}

func (p *netpoller) loop() {
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		p.mu.Lock()
		for i := 0; i < n; i++ {
			if pc := p.conns[events[i].Fd]; pc != nil {
				go pc.ready(pc)
			}
		}
		p.mu.Unlock()
	}
}
