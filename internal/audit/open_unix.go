//go:build unix

package audit

import "syscall"

// openFlags keep a trail file's open from following a symbolic link or
// blocking on a FIFO someone planted in its place.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
