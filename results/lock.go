//go:build unix

package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the lock a run directory's writer holds while it trains.
const LockFile = ".lock"

// LockRun takes the exclusive lock of a run directory (an flock on
// <run>/.lock, released by the returned function or when the process
// dies), so that a run is never trained by two processes at once.
func LockRun(runDir string) (unlock func(), err error) {
	path := filepath.Join(runDir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %v", path, unwrapPath(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("run %s is being trained by another fmnist process", filepath.Base(runDir))
		}
		return nil, fmt.Errorf("lock %s: %v", path, err)
	}
	return func() { f.Close() }, nil
}
