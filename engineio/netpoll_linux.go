//go:build linux

package engineio

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// netpoller watches idle WebSocket connections with one epoll instance, so
// that an idle connection holds neither a goroutine (8 KiB of stack at
// least) nor a read buffer. When a connection becomes readable, a goroutine
// reads what has arrived, then hands the connection back (EPOLLONESHOT:
// one wake-up per arming, so a connection is never read by two goroutines).
type netpoller struct {
	epfd int
	file *os.File // epfd, watched by the runtime's poller; see loop

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
// They are pooled, and the callback is made once: a closure made for each
// call would be two allocations per message read on an idle connection.
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
	// A raw system call: epoll_ctl never blocks (why that matters: see
	// loop).
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(op.epfd), unix.EPOLL_CTL_MOD, fd, uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		op.err = e
	}
}

// forget drops pc; closing the descriptor removes it from epoll.
func (p *netpoller) forget(pc *pollConn) {
	p.mu.Lock()
	if p.conns[pc.fd] == pc {
		delete(p.conns, pc.fd)
	}
	p.mu.Unlock()
}

// loop hands each readable connection to a new goroutine. It waits for
// events without a blocking system call where it can: the epoll descriptor
// is itself watched by the Go runtime's poller (an epoll instance is
// readable while it has events), and is then read with a non-blocking
// epoll_wait. A goroutine blocked in a system call costs more than its
// thread: on every return the runtime's monitor thread is woken and polls
// on its shortest period for a millisecond, some 7% of a busy server's
// CPU, measured with perf, when connections go idle and busy again
// between messages.
func (p *netpoller) loop() {
	events := make([]unix.EpollEvent, 128)
	if rc := p.pollable(); rc != nil {
		var n int
		wait := func(fd uintptr) bool {
			n = epollWaitNow(fd, events)
			return n > 0
		}
		for rc.Read(wait) == nil {
			p.dispatch(events[:n])
		}
		return
	}
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		p.dispatch(events[:n])
	}
}

// pollable returns the epoll descriptor as a RawConn of the runtime's
// poller, or nil if it cannot be one (then loop blocks in epoll_wait).
func (p *netpoller) pollable() syscall.RawConn {
	if unix.SetNonblock(p.epfd, true) != nil {
		return nil
	}
	// The File is kept for the life of the process: its finalizer would
	// close the descriptor.
	p.file = os.NewFile(uintptr(p.epfd), "engineio-epoll")
	rc, err := p.file.SyscallConn()
	if err != nil {
		return nil
	}
	// A File the runtime could not register reports no deadline support.
	if p.file.SetReadDeadline(time.Time{}) != nil {
		return nil
	}
	return rc
}

// epollWaitNow returns the events ready now, without waiting.
func epollWaitNow(epfd uintptr, events []unix.EpollEvent) int {
	for {
		// epoll_pwait with no signal mask is epoll_wait, on every
		// architecture (some have no epoll_wait).
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, epfd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0
		}
		return int(n)
	}
}

func (p *netpoller) dispatch(events []unix.EpollEvent) {
	p.mu.Lock()
	for i := range events {
		if pc := p.conns[events[i].Fd]; pc != nil {
			go pc.ready(pc)
		}
	}
	p.mu.Unlock()
}
