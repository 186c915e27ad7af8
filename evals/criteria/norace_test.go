//go:build !race

package criteria_test

// raceEnabled is true under -race, which adds allocations of its own.
const raceEnabled = false
