//go:build race

package socketio

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
