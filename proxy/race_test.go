//go:build race

package proxy

// raceEnabled bounds load loops, which run ten times slower under -race.
const raceEnabled = true
