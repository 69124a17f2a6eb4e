package main

import (
	"encoding/json"
	"fmnist/archs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fmnist-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "fmnist")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fmnist runs the real binary and returns its stdout, stderr and exit code.
func fmnist(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestArchsJSON(t *testing.T) {
	out, _, code := fmnist(t, "archs", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var list []struct {
		Name   string `json:"name"`
		Params int    `json:"params"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"CNN2": 211950, "CNN2_dropout": 440910, "CNN3_dropout": 207758, "reduced_all_cnn": 139634, "all_cnn": 1248202, "model5": 192218}
	if len(list) != 6 {
		t.Fatalf("%d architectures", len(list))
	}
	for _, a := range list {
		if want[a.Name] != a.Params {
			t.Errorf("%s: %d params, want %d", a.Name, a.Params, want[a.Name])
		}
	}
	text, _, _ := fmnist(t, "archs")
	if !strings.Contains(text, "211,950") || !strings.Contains(text, "Nesterov") || !strings.Contains(text, "batch 1024") {
		t.Errorf("text listing lacks counts or recipes:\n%s", text)
	}
}

func TestTrainHeadlessWritesRecordsAndTable(t *testing.T) {
	runs := t.TempDir()
	out, stderr, code := fmnist(t, "train", "--models", "CNN2,model5", "--epochs", "2", "--limit-train", "512", "--limit-test", "200", "--runs", runs, "--headless")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"CNN2            epoch 1/2", "model5          epoch 2/2", "| Model |"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	dirs, _ := os.ReadDir(runs)
	if len(dirs) != 2 {
		t.Fatalf("%d run directories, want 2", len(dirs))
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(runs, d.Name(), "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "model", "params", "status", "recipe", "started_at", "finished_at", "best_test_acc", "epochs"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("%s: run.json lacks %q", d.Name(), k)
			}
		}
		if rec["status"] != "done" || len(rec["epochs"].([]any)) != 2 {
			t.Errorf("%s: status %v, %d epochs", d.Name(), rec["status"], len(rec["epochs"].([]any)))
		}
	}
	csv, _, code := fmnist(t, "table", "--runs", runs, "--format", "csv")
	if code != 0 || strings.Count(strings.TrimSpace(csv), "\n") != 2 || !strings.Contains(csv, "0.9204") {
		t.Errorf("csv table (exit %d):\n%s", code, csv)
	}
	// Off a terminal the default is Markdown; text is the same table
	// aligned, all its columns kept.
	if md, _, code := fmnist(t, "table", "--runs", runs); code != 0 || !strings.HasPrefix(md, "| Model |") {
		t.Errorf("default table off a terminal (exit %d):\n%s", code, md)
	}
	text, _, code := fmnist(t, "table", "--runs", runs, "--format", "text")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "Model ") || !strings.Contains(lines[0], "Study acc") ||
		strings.Trim(lines[1], "─") != "" || strings.Contains(text, "|") {
		t.Errorf("text table (exit %d):\n%s", code, text)
	}
	file := filepath.Join(t.TempDir(), "t.json")
	if _, _, code := fmnist(t, "table", "--runs", runs, "--format", "json", "-o", file); code != 0 {
		t.Fatalf("table -o: exit %d", code)
	}
	var rows []map[string]any
	if b, err := os.ReadFile(file); err != nil || json.Unmarshal(b, &rows) != nil || len(rows) != 2 {
		t.Fatalf("table json file: %v rows, err %v", len(rows), err)
	}
}

// --set changes the recipe a run trains with; its record keeps the changes
// and the table's label names them.
func TestTrainSetChangesTheRecipe(t *testing.T) {
	runs := t.TempDir()
	_, stderr, code := fmnist(t, "train", "--models", "CNN2", "--recipe", "improved", "--set", "lr=4e-3,batch=64,flip=false",
		"--epochs", "1", "--limit-train", "256", "--limit-test", "100", "--runs", runs, "--headless")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	if len(m) != 1 {
		t.Fatalf("%d runs", len(m))
	}
	b, _ := os.ReadFile(m[0])
	var rec struct {
		Recipe archs.Recipe `json:"recipe"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	r := rec.Recipe
	if r.Phases[0].LR != 0.004 || r.Phases[0].Batch != 64 || r.Augment != nil || strings.Join(r.Set, ",") != "lr=0.004,batch=64,flip=false" || r.WeightDecay != 0.05 {
		t.Errorf("recorded recipe %+v", r)
	}
	csv, _, code := fmnist(t, "table", "--runs", runs, "--format", "csv")
	if code != 0 || !strings.Contains(csv, ",improved+lr0.004+batch64+noflip,") {
		t.Errorf("table (exit %d):\n%s", code, csv)
	}
}

func TestBadInputGivesOneLineError(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	emptyData := t.TempDir()
	cases := []badInput{
		{[]string{"train", "--models", "CNN9"}, `unknown model "CNN9"`},
		{[]string{"train", "--epochs", "0"}, "--epochs must be a positive number"},
		{[]string{"train", "--limit-train", "-5"}, "--limit-train must be a positive number"},
		{[]string{"train", "--epochs", "x"}, "invalid value"},
		{[]string{"train", "--data", "/nonexistent/dir"}, "/nonexistent/dir"},
		{[]string{"train", "--data", emptyData}, "train-images-idx3-ubyte"},
		{[]string{"train", "--limit-train", "10", "--runs", filepath.Join(notDir, "runs")}, notDir},
		{[]string{"train", "--seeds", "one"}, `--seeds "one"`},
		{[]string{"train", "--seeds", "5-1"}, `--seeds "5-1"`},
		{[]string{"train", "--seeds", "1-3", "--repeats", "3"}, "give one of them"},
		{[]string{"train", "--repeats", "0"}, "--repeats must be a positive number"},
		{[]string{"train", "--val", "2000", "--limit-train", "1000"}, "--val 2000 leaves none of the 1000 training images"},
		{[]string{"train", "--val", "60000"}, "--val 60000 leaves none of the 60000 training images"},
		{[]string{"train", "--val", "-1"}, "--val must not be negative"},
		{[]string{"train", "--recipe", "best"}, `--recipe "best": want seed or improved`},
		{[]string{"train", "--set", "momentum=0.9"}, "--set momentum: unknown key"},
		{[]string{"train", "--set", "lr"}, `--set "lr": want KEY=VALUE`},
		{[]string{"train", "--models", "CNN2,model5", "--set", "p2lr=0.1"}, "CNN2: --set p2lr: the recipe has one phase"},
		{[]string{"train", "--set", "lr=-1"}, "want a positive learning rate"},
		// model5 cut to one epoch keeps only its first phase.
		{[]string{"train", "--models", "model5", "--epochs", "1", "--set", "p2lr=0.1"}, "model5 with --epochs 1: --set p2lr: the recipe has one phase"},
		{[]string{"train", "--set", "warmup=2"}, "--set warmup: a warm-up applies only under the cosine schedule"},
		{[]string{"train", "--models", "CNN2", "--det-frames", "5"}, "--det-frames is for detection models (CNN2_det), not CNN2"},
		{[]string{"bench", "--set", "batch=0"}, "CNN2: --set batch=0: want a positive batch size"},
		{[]string{"table", "--format", "xml"}, `unknown table format "xml"`},
		{[]string{"table", "--runs", filepath.Join(emptyData, "nowhere")}, "no runs directory " + filepath.Join(emptyData, "nowhere")},
		{[]string{"table", "--runs", emptyData, "-o", emptyData}, "-o " + emptyData + " is a directory"},
		{[]string{"compare", "CNN2"}, "want two models"},
		{[]string{"compare", "CNN9", "CNN2", "--runs", emptyData}, `"CNN9" is neither a run ID nor a model`},
		{[]string{"compare", "CNN2", "model5", "--runs", emptyData}, "no finished run of CNN2"},
		{[]string{"compare", "CNN2", "model5", "--format", "xml"}, "unknown --format"},
		{[]string{"archs", "--format", "yaml"}, "unknown --format"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	expectOneLineErrors(t, cases)
}

// waitFirstEpoch waits until cmd, training one run into runs, has the run's
// first finished epoch on disk; it kills cmd and fails if that takes too long.
func waitFirstEpoch(t *testing.T, cmd *exec.Cmd, runs string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
		if len(m) == 1 {
			if b, _ := os.ReadFile(m[0]); strings.Contains(string(b), `"test_acc"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no epoch finished in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInterruptCancelsAndKeepsFinishedEpochs(t *testing.T) {
	runs := t.TempDir()
	cmd := exec.Command(bin, "train", "--models", "CNN2", "--epochs", "50", "--limit-train", "1024", "--limit-test", "200", "--runs", runs)
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFirstEpoch(t, cmd, runs)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130", err)
	}
	m, _ := filepath.Glob(filepath.Join(runs, "*", "run.json"))
	b, _ := os.ReadFile(m[0])
	var rec struct {
		Status     string `json:"status"`
		FinishedAt *string
		Epochs     []map[string]any `json:"epochs"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != "cancelled" || len(rec.Epochs) < 1 || len(rec.Epochs) >= 50 {
		t.Fatalf("after Ctrl-C: status %q with %d epochs", rec.Status, len(rec.Epochs))
	}
	if !strings.Contains(out.String(), "cancelled") {
		t.Errorf("output does not say cancelled:\n%s", out.String())
	}
}

// badInput is a command line that must fail with one line on stderr that
// contains want.
type badInput struct {
	args []string
	want string
}

// expectOneLineErrors runs each case through the real binary: it must exit
// non-zero with a single "fmnist: ..." line containing want, and print no
// stack trace or crash output.
func expectOneLineErrors(t *testing.T, cases []badInput) {
	t.Helper()
	expectOneLineErrorsExit(t, cases, 0)
}

// expectOneLineErrorsExit is expectOneLineErrors wanting exit status code
// (0: any but 0).
func expectOneLineErrorsExit(t *testing.T, cases []badInput, want int) {
	t.Helper()
	for _, c := range cases {
		out, stderr, code := fmnist(t, c.args...)
		if code == 0 || want != 0 && code != want {
			t.Errorf("%v: exit %d, want %s", c.args, code, map[bool]string{true: "an error", false: strconv.Itoa(want)}[want == 0])
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.Contains(stderr, c.want) || !strings.HasPrefix(stderr, "fmnist: ") {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr, c.want)
		}
		for _, crash := range []string{"goroutine", "panic", "terminate called"} {
			if strings.Contains(stderr+out, crash) {
				t.Errorf("%v: crash output (%q)", c.args, crash)
			}
		}
	}
}

// The narrow table's note breaks between words, never past the width.
func TestWrapWords(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  string
	}{
		{"(left out: Params, Epochs; see md)", 18, "(left out: Params,\nEpochs; see md)"},
		{"a  b c", 3, "a b\nc"},
		{"short", 0, "short"},
		{"averyveryverylongword x", 5, "averyveryverylongword\nx"},
	} {
		if got := wrapWords(c.s, c.width); got != c.want {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
	}
}
