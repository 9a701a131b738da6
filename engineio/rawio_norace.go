//go:build !race

package engineio

// rawSyscalls: see rawio_race.go.
const rawSyscalls = true
