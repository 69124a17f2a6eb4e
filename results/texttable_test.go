package results

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	md := "| Run | Model | Status | Best acc | Study acc |\n|---|---|---|---:|---:|\n" +
		"| a\\|b | CNN2 | done | 91.50% | 92.04% |\n| long-run-id | model5 | done | 9.00% | — |\n"
	var b bytes.Buffer
	dropped, err := WriteText(&b, md, 0)
	if err != nil || dropped != nil {
		t.Fatalf("%v, dropped %v", err, dropped)
	}
	want := "Run          Model   Status  Best acc  Study acc\n" +
		"────────────────────────────────────────────────\n" +
		"a|b          CNN2    done      91.50%     92.04%\n" +
		"long-run-id  model5  done       9.00%          —\n"
	if b.String() != want {
		t.Errorf("text table:\n%s\nwant:\n%s", b.String(), want)
	}
	// Narrower: the study's column goes first, then the status; the model
	// too where the run ID names it.
	for width, gone := range map[int]string{48: "", 47: "Study acc", 36: "Study acc,Status", 28: "Study acc,Status,Model"} {
		b.Reset()
		dropped, _ := WriteText(&b, md, width)
		if strings.Join(dropped, ",") != gone {
			t.Errorf("width %d: dropped %v, want %s", width, dropped, gone)
		}
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: line %q is %d wide", width, l, n)
			}
		}
	}
	b.Reset()
	if dropped, _ := WriteText(&b, strings.Replace(md, "| Run |", "| Group |", 1), 20); strings.Contains(strings.Join(dropped, ","), "Model") {
		t.Errorf("the model was dropped from a table without run IDs: %v", dropped)
	}
}
