package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Env describes the machine and the software versions of a run.
type Env struct {
	NProc       int    `json:"nproc"`
	CPUModel    string `json:"cpu_model"`
	MemTotal    string `json:"mem_total"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"go_version"`
	NodeVersion string `json:"node_version"`
	SocketIO    string `json:"socketio_version"`
	WS          string `json:"ws_version"`
	GitCommit   string `json:"git_commit"`
	GitDirty    bool   `json:"git_dirty"`
	// DirtyFiles are the uncommitted changes outside bench/ and
	// BENCHMARKS.md: what the benchmarked build has beyond GitCommit.
	DirtyFiles   []string `json:"dirty_files,omitempty"`
	LoadAvgStart string   `json:"loadavg_start"`
	LoadAvgEnd   string   `json:"loadavg_end"`
}

func collectEnv(o options) Env {
	e := Env{
		NProc:        runtime.NumCPU(),
		CPUModel:     cpuModel(),
		MemTotal:     memTotal(),
		Kernel:       output("uname", "-sr"),
		GoVersion:    output("go", "version"),
		NodeVersion:  output(o.nodeBin, "--version"),
		SocketIO:     pkgVersion(o.nodeDir, "socket.io"),
		WS:           pkgVersion(o.nodeDir, "ws"),
		GitCommit:    output("git", "rev-parse", "--short=12", "HEAD"),
		LoadAvgStart: loadAvg(),
	}
	// Not output(): its TrimSpace would eat the first line's status column.
	st, _ := exec.Command("git", "status", "--porcelain").Output()
	if s := strings.TrimRight(string(st), "\n"); s != "" {
		e.GitDirty = true
		for _, line := range strings.Split(s, "\n") {
			if len(line) < 4 {
				continue
			}
			path := strings.TrimSpace(line[3:])
			if !strings.HasPrefix(path, "bench/") && path != "BENCHMARKS.md" {
				e.DirtyFiles = append(e.DirtyFiles, path)
			}
		}
	}
	if n := output("nproc"); n != "" {
		if v, err := strconv.Atoi(n); err == nil {
			e.NProc = v
		}
	}
	return e
}

func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return strings.TrimSpace(v)
			}
			return strconv.FormatFloat(kb/1024/1024, 'f', 1, 64) + " GiB"
		}
	}
	return ""
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func pkgVersion(nodeDir, pkg string) string {
	b, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", pkg, "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}
