//go:build !unix

package results

// LockFile is the lock a run directory's writer holds while it trains.
const LockFile = ".lock"

// LockRun is a no-op where flock is not available.
func LockRun(runDir string) (unlock func(), err error) { return func() {}, nil }
