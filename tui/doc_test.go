package tui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocListsEveryFile: doc.go's list of files names every source file of
// the package, and no file that is gone.
func TestDocListsEveryFile(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, f := range regexp.MustCompile(`\b[a-z]+\.go\b`).FindAllString(string(doc), -1) {
		named[f] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		have[f] = true
		if !named[f] {
			t.Errorf("doc.go does not list %s", f)
		}
	}
	for f := range named {
		if !have[f] {
			t.Errorf("doc.go lists %s, which is not a source file of the package", f)
		}
	}
}
