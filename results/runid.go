package results

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// NewRunID returns an ID of the form <model>-<YYYYMMDD-HHMMSS>[-N] that names
// no existing run directory in runsDir nor any ID in taken, and that no other
// process has claimed.
//
// The ID is claimed for this process (a locked file .<id>.claim in runsDir,
// see claim_unix.go) until ReleaseRunID: two fmnist processes started in the
// same second otherwise both found the directory free and trained into one
// run. The recorder releases a claim once the run's directory exists and is
// locked, or when the run ends without starting; ReleaseRunIDs drops what is
// left. Where a claim cannot be made (a read-only runs directory) the ID is
// returned unclaimed, as before; the recorder's run lock still keeps a second
// process from writing over the run.
func NewRunID(runsDir, model string, t time.Time, taken map[string]bool) string {
	base := fmt.Sprintf("%s-%s", model, t.Format("20060102-150405"))
	id := base
	for n := 2; ; n++ {
		if !taken[id] && !exists(filepath.Join(runsDir, id)) && claimRunID(runsDir, id) {
			// Claimed; the run may have been made since the first look
			// (claimed, started and released by another process).
			if !exists(filepath.Join(runsDir, id)) {
				return id
			}
			ReleaseRunID(runsDir, id)
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !os.IsNotExist(err)
}

// claimSuffix ends the name of the file that claims a run ID while its run is
// queued (.<id>.claim in the runs directory).
const claimSuffix = ".claim"

func claimPath(runsDir, id string) string {
	return filepath.Join(runsDir, "."+id+claimSuffix)
}

// claims are this process's claimed run IDs, by claim file path, and the
// runs directories whose stale claim files it has removed.
var claims = struct {
	sync.Mutex
	files map[string]*os.File
	swept map[string]bool
}{files: map[string]*os.File{}, swept: map[string]bool{}}

// ReleaseRunID gives up this process's claim on run ID id, if it has one,
// and removes the claim file.
func ReleaseRunID(runsDir, id string) {
	p := claimPath(runsDir, id)
	claims.Lock()
	defer claims.Unlock()
	if f := claims.files[p]; f != nil {
		unclaim(p, f)
		delete(claims.files, p)
	}
}

// unclaim removes claim file p and drops the lock f holds on it, in that
// order: a process that opened the file and then gets the lock sees that the
// path no longer names it.
func unclaim(p string, f *os.File) {
	os.Remove(p)
	f.Close()
}

// ReleaseRunIDs gives up every claim this process still holds (runs that
// were never submitted, a command that failed before its runs started).
func ReleaseRunIDs() {
	claims.Lock()
	defer claims.Unlock()
	for p, f := range claims.files {
		unclaim(p, f)
		delete(claims.files, p)
	}
}
