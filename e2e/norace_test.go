//go:build !race

package e2e

// raceBuild: the tests run under the race detector, and so does every
// opensts process they start (buildBinary builds it with -race).
const raceBuild = false
