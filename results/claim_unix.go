//go:build unix

package results

import (
	"errors"
	"os"
	"syscall"
)

// claimRunID claims id for this process with an flock on its claim file,
// which the kernel drops when the process dies, so a crashed process's
// leftover file claims nothing. It reports false when another process (or
// another claim in this one) holds it.
func claimRunID(runsDir, id string) bool {
	p := claimPath(runsDir, id)
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return true // no claim possible here; see NewRunID
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return !errors.Is(err, syscall.EWOULDBLOCK) // held, or no locks on this file system
		}
		// Between our open and our lock its holder may have released it
		// (removed the file): then the lock is on a file nobody sees.
		held, err1 := f.Stat()
		named, err2 := os.Stat(p)
		if err1 != nil || err2 != nil || !os.SameFile(held, named) {
			f.Close()
			continue
		}
		claims.Lock()
		claims.files[p] = f
		claims.Unlock()
		return true
	}
}
