package offheap

import "os"

// ScratchFile makes a file in dir and unlinks it at once: what a structure
// too large to keep resident puts there is file data, which the kernel
// caches while it has memory to spare, counted in no process's resident
// set, and gone with the process (nothing is left in dir, and nothing
// reads it after). Its reads do not update its access time (nobody looks
// at it, and the check costs each read some 60 ns where the kernel supports
// that). Nil where it cannot be made or unlinked while open (not
// every system can): the caller then keeps the structure in memory.
func ScratchFile(dir, pattern string) *os.File {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil
	}
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		return nil
	}
	noAccessTime(f)
	return f
}
