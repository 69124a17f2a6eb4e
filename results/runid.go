package results

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// NewRunID returns an ID of the form <model>-<YYYYMMDD-HHMMSS>[-N] that is
// in neither taken nor runsDir, and claims it by creating its run directory:
// creating a directory either succeeds or finds it there, so two fmnist
// processes starting the same model in the same second get different IDs
// (checking for the directory first and making it later let both pick the
// same one). A directory with no run.json in it is not listed as a run. If
// runsDir cannot be written to, the ID is returned unclaimed and writing the
// run's record reports why.
func NewRunID(runsDir, model string, t time.Time, taken map[string]bool) string {
	base := fmt.Sprintf("%s-%s", model, t.Format("20060102-150405"))
	id := base
	for n := 2; ; n++ {
		if !taken[id] {
			if err := os.Mkdir(filepath.Join(runsDir, id), 0o755); err == nil || !os.IsExist(err) {
				return id
			}
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}
