//go:build unix

package results

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// lockClaim opens the claim file at p (creating it) and takes its lock
// without waiting. held: another process (or another claim in this one)
// holds it. f == nil and !held: no claim is possible here (a read-only runs
// directory, a file system without locks); the file is not left behind.
func lockClaim(p string) (f *os.File, held bool) {
	for {
		// Read-only is enough for flock, and opens another user's file.
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return nil, false
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			f.Close()
			continue
		}
		if err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, true
			}
			os.Remove(p) // nobody can lock it here either
			return nil, false
		}
		// Between our open and our lock its holder may have released it
		// (removed the file): then the lock is on a file nobody sees.
		locked, err1 := f.Stat()
		named, err2 := os.Stat(p)
		if err1 != nil || err2 != nil || !os.SameFile(locked, named) {
			f.Close()
			continue
		}
		return f, false
	}
}

// claimRunID claims id for this process with an flock on its claim file,
// which the kernel drops when the process dies, so a crashed process's
// leftover file claims nothing. It reports false when another process (or
// another claim in this one) holds it.
func claimRunID(runsDir, id string) bool {
	sweepClaims(runsDir)
	p := claimPath(runsDir, id)
	f, held := lockClaim(p)
	if f != nil {
		claims.Lock()
		claims.files[p] = f
		claims.Unlock()
	}
	return !held
}

// sweepClaims removes, once per runs directory and process, the claim files
// that no live process holds (left by killed processes).
func sweepClaims(runsDir string) {
	claims.Lock()
	done := claims.swept[runsDir]
	claims.swept[runsDir] = true
	claims.Unlock()
	if done {
		return
	}
	stale, _ := filepath.Glob(filepath.Join(runsDir, ".*"+claimSuffix))
	for _, p := range stale {
		if f, _ := lockClaim(p); f != nil {
			unclaim(p, f)
		}
	}
}
