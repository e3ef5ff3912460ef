//go:build race

package gzsplice

const raceEnabled = true
