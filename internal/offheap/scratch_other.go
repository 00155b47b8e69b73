//go:build !linux

package offheap

import "os"

// noAccessTime does nothing where O_NOATIME is not known.
func noAccessTime(*os.File) {}
