package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"fmnist/archs"
	"fmnist/trainer"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testRecipe() archs.Recipe {
	return archs.Recipe{Phases: []archs.Phase{{Epochs: 3, Batch: 256, Optimizer: "adam", LR: 0.001}}}
}

func started(id, model string) trainer.RunStarted {
	return trainer.RunStarted{
		ID: id, Model: model, Params: 211950, Layers: []string{"conv 3x3x32", "dense 10"},
		Recipe: testRecipe(), Epochs: 3, TrainSize: 60000, TestSize: 10000, Seed: 7, Time: t0,
	}
}

func epoch(id string, n int, acc float64) trainer.EpochEnd {
	return trainer.EpochEnd{ID: id, Epochs: 3, Stats: trainer.EpochStats{
		Epoch: n, TrainSeconds: 10 + float64(n), EvalSeconds: 1, TrainLoss: 0.5 / float64(n),
		TrainAcc: acc - 0.01, TestLoss: 0.6 / float64(n), TestAcc: acc,
	}}
}

// readRaw reads dir/id/run.json as a generic JSON object.
func readRaw(t *testing.T, dir, id string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, id, "run.json"))
	if err != nil {
		t.Fatalf("read run.json: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("run.json is not a JSON object: %v\n%s", err, data)
	}
	return m
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func hasKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing key %q (have %v)", what, k, keys(m))
		}
	}
}

func handle(t *testing.T, r *Recorder, ev trainer.Event) {
	t.Helper()
	if err := r.Handle(ev); err != nil {
		t.Fatalf("Handle(%T): %v", ev, err)
	}
}

func TestRecorderLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	rec := NewRecorder(dir)
	id := "CNN2-20260301-120000"

	// Queue and progress events never touch the disk.
	handle(t, rec, trainer.RunQueued{ID: id, Model: "CNN2"})
	handle(t, rec, trainer.BatchProgress{ID: id, Epoch: 1, Batch: 3, Batches: 235})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("runs dir exists after RunQueued/BatchProgress (err %v)", err)
	}
	if rec.Run(id) != nil {
		t.Fatal("Run known before RunStarted")
	}

	handle(t, rec, started(id, "CNN2"))
	m := readRaw(t, dir, id)
	hasKeys(t, "run.json", m, "id", "model", "params", "status", "recipe", "started_at", "finished_at", "best_test_acc", "epochs",
		"best_epoch", "epochs_planned", "train_size", "test_size", "seed", "layers")
	for _, k := range []string{"error"} {
		if _, ok := m[k]; ok {
			t.Errorf("key %q present while running", k)
		}
	}
	if m["status"] != "running" {
		t.Errorf("status = %v, want running", m["status"])
	}
	if v, ok := m["finished_at"]; !ok || v != nil {
		t.Errorf("finished_at = %v (present %v), want null", v, ok)
	}
	if eps, ok := m["epochs"].([]any); !ok || len(eps) != 0 {
		t.Errorf("epochs = %#v, want []", m["epochs"])
	}
	if m["id"] != id || m["model"] != "CNN2" || m["params"] != 211950.0 {
		t.Errorf("id/model/params = %v/%v/%v", m["id"], m["model"], m["params"])
	}
	if st, _ := m["started_at"].(string); st != "2026-03-01T12:00:00Z" {
		t.Errorf("started_at = %v", m["started_at"])
	}
	if ph := m["recipe"].(map[string]any)["phases"].([]any); len(ph) != 1 {
		t.Errorf("recipe phases = %v", ph)
	}

	accs := []float64{0.85, 0.88, 0.87}
	wantBest := []float64{0.85, 0.88, 0.88}
	wantBestEpoch := []int{1, 2, 2}
	for i, a := range accs {
		handle(t, rec, epoch(id, i+1, a))
		m := readRaw(t, dir, id)
		eps := m["epochs"].([]any)
		if len(eps) != i+1 {
			t.Fatalf("after epoch %d: %d epochs on disk", i+1, len(eps))
		}
		last := eps[i].(map[string]any)
		if got := keys(last); strings.Join(got, ",") != "epoch,eval_seconds,test_acc,test_loss,train_acc,train_loss,train_seconds" {
			t.Errorf("epoch keys = %v", got)
		}
		if last["epoch"] != float64(i+1) || last["test_acc"] != a {
			t.Errorf("epoch %d on disk = %v", i+1, last)
		}
		if m["best_test_acc"] != wantBest[i] || m["best_epoch"] != float64(wantBestEpoch[i]) {
			t.Errorf("after epoch %d: best %v at %v, want %v at %d", i+1, m["best_test_acc"], m["best_epoch"], wantBest[i], wantBestEpoch[i])
		}
		if m["status"] != "running" || m["finished_at"] != nil {
			t.Errorf("after epoch %d: status %v finished_at %v", i+1, m["status"], m["finished_at"])
		}
	}

	end := t0.Add(time.Minute)
	handle(t, rec, trainer.RunFinished{ID: id, Status: trainer.StatusDone, Time: end})
	m = readRaw(t, dir, id)
	if m["status"] != "done" {
		t.Errorf("status = %v, want done", m["status"])
	}
	if fa, _ := m["finished_at"].(string); fa != "2026-03-01T12:01:00Z" {
		t.Errorf("finished_at = %v", m["finished_at"])
	}
	if _, ok := m["error"]; ok {
		t.Errorf("error key present on a done run")
	}

	// The in-memory record matches and is a copy.
	r := rec.Run(id)
	if r == nil || r.Status != "done" || len(r.Epochs) != 3 || r.BestEpoch != 2 || r.FinishedAt == nil || !r.FinishedAt.Equal(end) {
		t.Fatalf("Run(%q) = %+v", id, r)
	}
	r.Epochs[0].TestAcc = 0
	if rec.Run(id).Epochs[0].TestAcc != 0.85 {
		t.Error("Run returned the live record, not a copy")
	}

	// And LoadRun reads back what was written.
	back, err := LoadRun(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != id || back.Seed != 7 || back.TrainSize != 60000 || back.EpochsPlanned != 3 || len(back.Layers) != 2 ||
		back.Recipe.Epochs() != 3 || len(back.Epochs) != 3 || back.BestTestAcc != 0.88 {
		t.Errorf("LoadRun = %+v", back)
	}
}

func TestRecorderFailedAndCancelled(t *testing.T) {
	dir := t.TempDir()
	rec := NewRecorder(dir)
	handle(t, rec, started("a", "CNN2"))
	handle(t, rec, epoch("a", 1, 0.8))
	handle(t, rec, trainer.RunFinished{ID: "a", Status: trainer.StatusFailed, Err: "NaN loss at batch 12", Time: t0})
	m := readRaw(t, dir, "a")
	if m["status"] != "failed" || m["error"] != "NaN loss at batch 12" || m["finished_at"] == nil {
		t.Errorf("failed run: status %v error %v finished_at %v", m["status"], m["error"], m["finished_at"])
	}

	handle(t, rec, started("b", "model5"))
	handle(t, rec, trainer.RunFinished{ID: "b", Status: trainer.StatusCancelled, Time: t0})
	m = readRaw(t, dir, "b")
	if m["status"] != "cancelled" || m["finished_at"] == nil {
		t.Errorf("cancelled run: status %v finished_at %v", m["status"], m["finished_at"])
	}
	if eps := m["epochs"].([]any); len(eps) != 0 {
		t.Errorf("cancelled run epochs = %v", eps)
	}

	// A run cancelled while queued has no record and writes nothing.
	handle(t, rec, trainer.RunQueued{ID: "c", Model: "CNN2"})
	handle(t, rec, trainer.RunFinished{ID: "c", Status: trainer.StatusCancelled})
	if _, err := os.Stat(filepath.Join(dir, "c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("queued-then-cancelled run got a directory (err %v)", err)
	}

	// An epoch for an unknown run is a protocol error.
	if err := rec.Handle(epoch("zzz", 1, 0.5)); err == nil {
		t.Error("EpochEnd for an unknown run: no error")
	}
	// A run ID that would escape the runs directory is refused.
	if err := rec.Handle(started("../evil", "CNN2")); err == nil {
		t.Error("RunStarted with ID ../evil: no error")
	}
}

func TestRecorderSaveErrorIsReported(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	rec := NewRecorder(filepath.Join(file, "runs")) // parent is a regular file
	err := rec.Handle(started("a", "CNN2"))
	if err == nil {
		t.Fatal("no error saving under a regular file")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("multi-line error: %q", err)
	}
	if rec.Run("a") == nil {
		t.Error("in-memory record lost after a failed save")
	}
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	if err := WriteFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if string(data) != "two" {
		t.Errorf("content = %q", data)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("perm = %v", fi.Mode().Perm())
	}
	if tf := tempFiles(t, dir); len(tf) != 0 {
		t.Errorf("temp files left: %v", tf)
	}
}

func TestWriteFileAtomicParentIsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("keep"), 0o644)
	err := WriteFileAtomic(filepath.Join(file, "run.json"), []byte("x"), 0o644)
	if err == nil {
		t.Fatal("no error writing below a regular file")
	}
	if !strings.Contains(err.Error(), filepath.Join(file, "run.json")) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error should be one line naming the file: %q", err)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep" {
		t.Errorf("regular file changed: %q", data)
	}
	if tf := tempFiles(t, dir); len(tf) != 0 {
		t.Errorf("temp files left: %v", tf)
	}
}

func TestWriteFileAtomicFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.json")
	if err := WriteFileAtomic(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func() func()
	}{
		{"sync fails", func() func() {
			orig := syncFile
			syncFile = func(*os.File) error { return errors.New("disk on fire") }
			return func() { syncFile = orig }
		}},
		{"rename fails", func() func() {
			orig := renameFile
			renameFile = func(string, string) error { return errors.New("no rename today") }
			return func() { renameFile = orig }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.setup()
			err := WriteFileAtomic(p, []byte("new content that must not land"), 0o644)
			restore()
			if err == nil {
				t.Fatal("no error")
			}
			if data, _ := os.ReadFile(p); string(data) != "old" {
				t.Errorf("existing file changed to %q", data)
			}
			if tf := tempFiles(t, dir); len(tf) != 0 {
				t.Errorf("temp files left: %v", tf)
			}
		})
	}

	// A real rename failure: the target is a non-empty directory.
	target := filepath.Join(dir, "adir")
	os.MkdirAll(filepath.Join(target, "inner"), 0o755)
	if err := WriteFileAtomic(target, []byte("x"), 0o644); err == nil {
		t.Error("no error renaming over a directory")
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("directory target damaged: %v", err)
	}
	if tf := tempFiles(t, dir); len(tf) != 0 {
		t.Errorf("temp files left: %v", tf)
	}
}

func TestSaveRunNeverNullEpochs(t *testing.T) {
	dir := t.TempDir()
	if err := SaveRun(dir, &Run{ID: "x", Model: "CNN2", Status: "running"}); err != nil {
		t.Fatal(err)
	}
	m := readRaw(t, dir, "x")
	if eps, ok := m["epochs"].([]any); !ok || len(eps) != 0 {
		t.Errorf("epochs = %#v, want []", m["epochs"])
	}
	data, _ := os.ReadFile(filepath.Join(dir, "x", "run.json"))
	if !strings.Contains(string(data), "\n  \"id\": \"x\"") {
		t.Errorf("not indented JSON:\n%s", data)
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`} {
		if err := SaveRun(dir, &Run{ID: bad}); err == nil {
			t.Errorf("SaveRun with id %q: no error", bad)
		}
	}
}

func TestLoadRunErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "run.json")
	_, err := LoadRun(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\"id\": \"x\",\n  \"epochs\": [tru"), 0o644)
	_, err = LoadRun(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupt file: %q", err)
	}
	noID := filepath.Join(dir, "noid.json")
	os.WriteFile(noID, []byte(`{"model": "CNN2"}`), 0o644)
	if _, err := LoadRun(noID); err == nil || !strings.Contains(err.Error(), noID) {
		t.Errorf("record without id: %v", err)
	}
}

func TestLoadRuns(t *testing.T) {
	// A missing runs directory is an empty list, not an error.
	runs, bad, err := LoadRuns(filepath.Join(t.TempDir(), "absent"))
	if err != nil || len(bad) != 0 || runs == nil || len(runs) != 0 {
		t.Fatalf("missing dir: runs %v bad %v err %v", runs, bad, err)
	}

	dir := t.TempDir()
	for _, r := range []*Run{
		{ID: "late", Model: "CNN2", StartedAt: t0.Add(time.Hour)},
		{ID: "b-early", Model: "model5", StartedAt: t0},
		{ID: "a-early", Model: "all_cnn", StartedAt: t0},
	} {
		if err := SaveRun(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "corrupt"), 0o755)
	corrupt := filepath.Join(dir, "corrupt", "run.json")
	os.WriteFile(corrupt, []byte("{not json"), 0o644)
	os.MkdirAll(filepath.Join(dir, "empty-dir"), 0o755)               // no run.json: ignored
	os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644) // not a dir: ignored

	runs, bad, err = LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
		if r.Epochs == nil {
			t.Errorf("%s: nil Epochs after load", r.ID)
		}
	}
	if strings.Join(ids, ",") != "a-early,b-early,late" {
		t.Errorf("order = %v", ids)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), corrupt) {
		t.Errorf("bad = %v, want one error naming %s", bad, corrupt)
	}

	// A runs "directory" that is a regular file is a real error.
	if _, _, err := LoadRuns(filepath.Join(dir, "stray.txt")); err == nil {
		t.Error("LoadRuns on a regular file: no error")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "runs")
	if err := CheckWritable(dir); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("runs dir not created: %v", err)
	}
	if len(ents) != 0 {
		t.Errorf("probe file left behind: %v", ents)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	bad := filepath.Join(file, "runs")
	err = CheckWritable(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "\n") {
		t.Errorf("CheckWritable under a file: %v", err)
	}
}

// TestApplyIsTheRecordersFold folds a run's events with Run.Apply and checks
// the record against what the Recorder saved from the same events, then the
// fold's own rules: repeated epochs replace, other runs' events and progress
// are ignored, a resumed start continues the record.
func TestApplyIsTheRecordersFold(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	id := "CNN2-20261129-100000"
	evs := []trainer.Event{
		trainer.RunQueued{ID: id, Model: "CNN2"},
		trainer.RunStarted{ID: id, Model: "CNN2", Params: 100, Epochs: 3, TrainSize: 10, TestSize: 5, Seed: 2, Time: t0},
		trainer.EpochEnd{ID: id, Epochs: 3, Stats: trainer.EpochStats{Epoch: 1, TestAcc: 0.8}},
		trainer.BatchProgress{ID: id, Epoch: 2},
		trainer.EpochEnd{ID: "other-run", Stats: trainer.EpochStats{Epoch: 7, TestAcc: 0.99}},
		trainer.EpochEnd{ID: id, Epochs: 3, Stats: trainer.EpochStats{Epoch: 2, TestAcc: 0.9}},
		trainer.EpochEnd{ID: id, Epochs: 3, Stats: trainer.EpochStats{Epoch: 3, TestAcc: 0.9}},
		trainer.RunFinished{ID: id, Status: trainer.StatusDone, Time: t0.Add(time.Minute)},
	}
	dir := t.TempDir()
	rec := NewRecorder(dir)
	var run Run
	for _, ev := range evs {
		if _, queued := ev.(trainer.RunQueued); !queued {
			if e, ok := ev.(trainer.EpochEnd); !ok || e.ID == id {
				if err := rec.Handle(ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		run.Apply(ev)
	}
	saved, err := LoadRun(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(saved)
	b, _ := json.Marshal(&run)
	if string(a) != string(b) {
		t.Errorf("the recorder saved\n%s\nthe fold gives\n%s", a, b)
	}
	if run.Status != trainer.StatusDone || len(run.Epochs) != 3 || run.BestEpoch != 2 || run.BestTestAcc != 0.9 || !run.StartedAt.Equal(t0) {
		t.Errorf("fold: %+v", run)
	}
	// An epoch already held (a record read from disk ahead of the events)
	// is replaced, with the epochs after it.
	run.Apply(trainer.EpochEnd{ID: id, Stats: trainer.EpochStats{Epoch: 2, TestAcc: 0.95}})
	if len(run.Epochs) != 2 || run.BestEpoch != 2 || run.BestTestAcc != 0.95 {
		t.Errorf("after a repeated epoch 2: %d epochs, best %d (%.2f)", len(run.Epochs), run.BestEpoch, run.BestTestAcc)
	}
	// A resumed start continues: same start, one resumption, the
	// checkpoint's epochs.
	t1 := t0.Add(time.Hour)
	run.Apply(trainer.RunStarted{ID: id, Model: "CNN2", Epochs: 3, Time: t1, Resumed: true,
		History: []trainer.EpochStats{{Epoch: 1, TestAcc: 0.8}}})
	if !run.StartedAt.Equal(t0) || len(run.ResumedAt) != 1 || !run.ResumedAt[0].Equal(t1) || len(run.Epochs) != 1 ||
		run.Status != trainer.StatusRunning || run.FinishedAt != nil || run.BestEpoch != 1 {
		t.Errorf("after resuming: %+v", run)
	}
	if run.Apply(trainer.RunFinished{ID: "other-run", Status: trainer.StatusFailed}) || run.Status != trainer.StatusRunning {
		t.Errorf("another run's end changed this record: %+v", run)
	}
}

// A run started again in the same Recorder before it finished (a cluster's
// run that another worker resumed) continues its record; the run's lock is
// still this Recorder's.
func TestRecorderRunStartedAgain(t *testing.T) {
	dir := t.TempDir()
	rec := NewRecorder(dir)
	id := "CNN2-seed1-ep2-train1024-test200"
	handle(t, rec, started(id, "CNN2"))
	ep1 := trainer.EpochStats{Epoch: 1, TrainLoss: 1, TestAcc: 0.5}
	handle(t, rec, trainer.EpochEnd{ID: id, Epochs: 2, Stats: ep1})
	again := started(id, "CNN2")
	again.Resumed, again.History = true, []trainer.EpochStats{ep1}
	handle(t, rec, again)
	handle(t, rec, trainer.EpochEnd{ID: id, Epochs: 2, Stats: trainer.EpochStats{Epoch: 2, TrainLoss: 0.5, TestAcc: 0.6}})
	handle(t, rec, trainer.RunFinished{ID: id, Status: trainer.StatusDone})
	r, err := LoadRun(filepath.Join(dir, id))
	if err != nil || r.Status != trainer.StatusDone || len(r.Epochs) != 2 || len(r.ResumedAt) != 1 {
		t.Fatalf("record %+v, %v", r, err)
	}
}

// A run another process holds the lock of is neither written over nor
// claimed: the recorder reports it before its first write.
func TestRecorderLeavesALockedRunAlone(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "x")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	orig := []byte(`{"id": "x", "model": "CNN2", "status": "running", "epochs": []}`)
	if err := os.WriteFile(filepath.Join(runDir, RunFile), orig, 0o644); err != nil {
		t.Fatal(err)
	}
	unlock, err := LockRun(runDir) // the other process
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	rec := NewRecorder(dir)
	if err := rec.Handle(started("x", "CNN2")); err == nil || !strings.Contains(err.Error(), "another fmnist process") {
		t.Fatalf("starting a locked run: %v", err)
	}
	// Its epochs are not recorded either.
	if err := rec.Handle(epoch("x", 1, 0.5)); err == nil {
		t.Error("an epoch of the locked run was accepted")
	}
	if b, _ := os.ReadFile(filepath.Join(runDir, RunFile)); !bytes.Equal(b, orig) {
		t.Errorf("run.json written over:\n%s", b)
	}
}
