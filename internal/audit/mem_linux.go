package audit

import "syscall"

// mapPopulate asks mmap to fault the mapping's pages in at once.
const mapPopulate = syscall.MAP_POPULATE
