//go:build race

package engineio

// rawSyscalls is off under the race detector: it learns that a write on
// one end of a connection happens before the read of it on the other only
// from the syscall package's own Read and Write, so raw reads and writes
// would make it report races that the kernel rules out.
const rawSyscalls = false
