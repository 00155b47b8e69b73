//go:build !race

package e2e

// raceBuild: the tests run without the race detector, and so does every
// opensts process they start (buildBinary builds it without -race).
const raceBuild = false
