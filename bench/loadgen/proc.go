package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is what /proc tells about the server process.
type procSample struct {
	CPU     float64 // utime+stime, seconds, all threads
	RSSKB   int64   // VmRSS
	Threads int
	FDs     int
}

// sampleProc reads /proc for pid; pid 0 yields a zero sample.
func sampleProc(pid int) (procSample, error) {
	var s procSample
	if pid == 0 {
		return s, nil
	}
	var err error
	if s.CPU, err = procCPU(pid); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "VmRSS":
			s.RSSKB, _ = strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		case "Threads":
			s.Threads, _ = strconv.Atoi(v)
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(ents)
	return s, nil
}

// procCPU is pid's utime+stime, in seconds, from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces: field 3 (state) onwards; utime and stime are 14, 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return float64(utime+stime) / clockTicks, nil
}

// cpuOf is the summed CPU time of pids, in seconds.
func cpuOf(pids []int) (float64, error) {
	each, err := cpuEach(pids)
	var sum float64
	for _, c := range each {
		sum += c
	}
	return sum, err
}

// cpuEach is the CPU time of each of pids, in seconds.
func cpuEach(pids []int) ([]float64, error) {
	out := make([]float64, len(pids))
	for i, pid := range pids {
		var err error
		if out[i], err = procCPU(pid); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setInfra records a cluster's infrastructure CPU times in r.
func (m *meter) setInfra(r *Result) {
	if len(m.infraCPU) == 0 {
		return
	}
	r.InfraCPUEach = m.infraCPU
	r.InfraCPU = 0
	for _, c := range m.infraCPU {
		r.InfraCPU += c
	}
}

// selfCPU is this process's CPU time, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 {
		return float64(t.Sec) + float64(t.Usec)/1e6
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// meter measures a phase: wall time, server CPU, client CPU.
type meter struct {
	pid       int
	start     time.Time
	before    procSample
	clientCPU float64
	// A cluster: the other server nodes, counted in the server CPU, and
	// the infrastructure processes (Redis, the load balancer), whose CPU
	// times over the phase, each, stop leaves in infraCPU.
	more, infra []int
	moreBefore  float64
	infraBase   []float64
	infraCPU    []float64
}

func startMeter(pid int) (*meter, error) {
	m := &meter{pid: pid}
	var err error
	m.before, err = sampleProc(pid)
	m.clientCPU = selfCPU()
	m.start = time.Now()
	return m, err
}

// startClusterMeter is startMeter for cfg's server, which may be several
// node processes (-pid a,b,c) and infrastructure processes (-infra-pid).
func startClusterMeter(cfg config) (*meter, error) {
	m := &meter{pid: cfg.PID, more: cfg.MorePIDs, infra: cfg.InfraPIDs}
	var err, err1, err2 error
	m.before, err = sampleProc(m.pid)
	m.moreBefore, err1 = cpuOf(m.more)
	m.infraBase, err2 = cpuEach(m.infra)
	m.clientCPU = selfCPU()
	m.start = time.Now()
	return m, errors.Join(err, err1, err2)
}

// stop returns the phase's wall time, server CPU and client CPU, seconds.
func (m *meter) stop() (wall, serverCPU, clientCPU float64, err error) {
	wall = time.Since(m.start).Seconds()
	clientCPU = selfCPU() - m.clientCPU
	after, err := sampleProc(m.pid)
	if err != nil {
		return wall, 0, clientCPU, err
	}
	more, err1 := cpuOf(m.more)
	infra, err2 := cpuEach(m.infra)
	if err := errors.Join(err1, err2); err != nil {
		return wall, 0, clientCPU, err
	}
	for i := range infra {
		infra[i] -= m.infraBase[i]
	}
	m.infraCPU = infra
	return wall, after.CPU - m.before.CPU + more - m.moreBefore, clientCPU, nil
}
