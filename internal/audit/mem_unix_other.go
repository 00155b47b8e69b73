//go:build unix && !linux

package audit

// mapPopulate: the system has no MAP_POPULATE; pages fault in on first use.
const mapPopulate = 0
