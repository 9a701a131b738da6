//go:build !race

package engineio

// rawSyscalls lets connections read and write with raw syscalls; it is
// off under the race detector, which cannot see their ordering.
const rawSyscalls = true
