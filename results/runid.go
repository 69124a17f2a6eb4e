package results

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// NewRunID returns an ID of the form <model>-<YYYYMMDD-HHMMSS>[-N] that names
// no existing run directory in runsDir nor any ID in taken.
func NewRunID(runsDir, model string, t time.Time, taken map[string]bool) string {
	base := fmt.Sprintf("%s-%s", model, t.Format("20060102-150405"))
	id := base
	for n := 2; ; n++ {
		if !taken[id] {
			if _, err := os.Stat(filepath.Join(runsDir, id)); os.IsNotExist(err) {
				return id
			}
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}
