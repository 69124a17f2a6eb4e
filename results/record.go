package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fmnist/archs"
	"fmnist/trainer"
)

// RunFile is the name of the record file inside a run's directory.
const RunFile = "run.json"

// Run is the on-disk record of one training run, stored as
// <runs dir>/<id>/run.json.
type Run struct {
	ID            string       `json:"id"`
	Model         string       `json:"model"`
	Params        int          `json:"params"`
	Status        string       `json:"status"`
	Error         string       `json:"error,omitempty"`
	Recipe        archs.Recipe `json:"recipe"`
	EpochsPlanned int          `json:"epochs_planned"`
	TrainSize     int          `json:"train_size"`
	// ValSize is the validation images held out of the training set: the
	// best epoch is chosen on them. 0: chosen on the test set (the seed's way).
	ValSize   int         `json:"val_size,omitempty"`
	TestSize  int         `json:"test_size"`
	Seed      int64       `json:"seed"`
	Layers    []string    `json:"layers,omitempty"`
	StartedAt time.Time   `json:"started_at"`
	ResumedAt []time.Time `json:"resumed_at,omitempty"` // each `train --resume`
	// Workers are the cluster workers that trained it, one per start
	// (name and machine: OpenBLAS kernel, cores); empty for local runs.
	Workers    []string   `json:"workers,omitempty"`
	FinishedAt *time.Time `json:"finished_at"` // null while running
	// BestEpoch is the first with the highest validation accuracy (with a
	// validation set) or test accuracy (without); BestTestAcc is the test
	// accuracy at that epoch.
	BestTestAcc float64              `json:"best_test_acc"`
	BestValAcc  float64              `json:"best_val_acc,omitempty"`
	BestEpoch   int                  `json:"best_epoch"`
	Epochs      []trainer.EpochStats `json:"epochs"` // never null
}

// MarkFinished records how the run ended: status, error and time (now, if
// the event carries none).
func (r *Run) MarkFinished(e trainer.RunFinished) {
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	r.Status, r.Error, r.FinishedAt = e.Status, e.Err, &t
}

// Apply folds one trainer event into the record: the one fold of the event
// stream, used by the Recorder (which persists the result) and by every view
// (which shows it). Events of other runs, and progress reports, change
// nothing; it reports whether the record changed.
//
// RunQueued names the run and its planned epochs; RunStarted sets what the
// run is (a resumed run continues its record: its start, its resumptions
// and the epochs of its checkpoint); EpochEnd adds the epoch, replacing any the record already holds from that epoch
// on (a record read from disk may be ahead of the events), and keeps the
// best epoch (bestIndex: chosen on validation, a detection model's
// validation scenes, or test, as ChosenOn says); RunFinished closes the
// record.
func (r *Run) Apply(ev trainer.Event) bool {
	switch e := ev.(type) {
	case trainer.RunQueued:
		if r.ID != "" && r.ID != e.ID {
			return false
		}
		r.ID = e.ID
		if e.Model != "" {
			r.Model = e.Model
		}
		if r.Status == "" {
			r.Status = trainer.StatusQueued
		}
		if r.Epochs == nil {
			r.Epochs = []trainer.EpochStats{}
		}
		if e.Epochs > 0 && r.EpochsPlanned == 0 {
			r.EpochsPlanned = e.Epochs
		}
		return true
	case trainer.RunStarted:
		if r.ID != "" && r.ID != e.ID {
			return false
		}
		t := e.Time
		if t.IsZero() {
			t = time.Now()
		}
		r.ID = e.ID
		if e.Model != "" {
			r.Model = e.Model
		}
		r.Params = e.Params
		r.Layers = append([]string(nil), e.Layers...)
		r.Recipe = e.Recipe
		r.Recipe.Phases = append([]archs.Phase(nil), e.Recipe.Phases...)
		r.EpochsPlanned = e.Epochs
		r.TrainSize, r.ValSize, r.TestSize, r.Seed = e.TrainSize, e.ValSize, e.TestSize, e.Seed
		if e.Worker != "" {
			r.Workers = append(r.Workers, e.Worker)
		}
		if e.Resumed {
			r.ResumedAt = append(r.ResumedAt, t)
			r.Epochs = append([]trainer.EpochStats{}, e.History...)
		}
		if r.Epochs == nil {
			r.Epochs = []trainer.EpochStats{}
		}
		if r.StartedAt.IsZero() || (!e.Resumed && len(r.Epochs) == 0) {
			r.StartedAt = t
		}
		r.FinishedAt = nil
		r.Status = trainer.StatusRunning
		r.Error = ""
		r.bestOfEpochs()
		return true
	case trainer.EpochEnd:
		if r.ID != e.ID {
			return false
		}
		st := e.Stats
		n := len(r.Epochs)
		for n > 0 && r.Epochs[n-1].Epoch >= st.Epoch {
			n--
		}
		r.Epochs = append(r.Epochs[:n:n], st)
		r.bestOfEpochs()
		if e.Epochs > 0 {
			r.EpochsPlanned = e.Epochs
		}
		if r.Status == "" || r.Status == trainer.StatusQueued {
			r.Status = trainer.StatusRunning
		}
		return true
	case trainer.RunFinished:
		if r.ID != e.ID {
			return false
		}
		r.MarkFinished(e)
		return true
	}
	return false
}

// bestOfEpochs sets the best epoch (bestIndex) and its accuracies.
func (r *Run) bestOfEpochs() {
	r.BestEpoch, r.BestTestAcc, r.BestValAcc = 0, 0, 0
	if i := r.bestIndex(); i >= 0 {
		x := r.Epochs[i]
		r.BestTestAcc, r.BestValAcc, r.BestEpoch = x.TestAcc, x.ValAcc, x.Epoch
	}
}

// bestIndex is the index in Epochs of the best epoch: the first with the
// highest score; -1 without epochs.
func (r *Run) bestIndex() int {
	best := -1
	for i, x := range r.Epochs {
		if best < 0 || r.score(x) > r.score(r.Epochs[best]) {
			best = i
		}
	}
	return best
}

// score is what chooses the best epoch: the validation accuracy; for a
// detection model, the F1 of its detections in the validation scenes (what
// the detector is for; its accuracy is on crops of the training scenes,
// and favours the epochs before hard negatives are mined); the test
// accuracy for a run with neither.
func (r *Run) score(e trainer.EpochStats) float64 {
	switch r.ChosenOn() {
	case "scenes":
		return e.Extra[detF1]
	case "val":
		return e.ValAcc
	}
	return e.TestAcc
}

// detF1 is the epoch figure (EpochStats.Extra) a detection model is chosen on.
const detF1 = "det_f1"

// detection reports whether r trains a detection model with its validation
// scenes' figures recorded (every epoch has them, or none).
func (r *Run) detection() bool {
	if len(r.Epochs) == 0 {
		return false
	}
	_, ok := r.Epochs[0].Extra[detF1]
	return ok
}

// RecipeKind is the recipe's label: "seed" or "improved"; "-old-" and its
// changes added when the run's recipe of that name is not this build's
// (archs.Spec.Label: recorded before the recipe was changed, e.g.
// "improved-old-lr0.004"), so that tables say so, two older versions stay
// apart, and compare's MODEL:RECIPE does not take them for today's; "+clip"
// added for Keras 2.2's probability clipping (archs.Recipe.Label). "" for a
// detection model, which has only its own.
func (r *Run) RecipeKind() string {
	spec, err := archs.Lookup(r.Model)
	if err == nil && spec.Detection {
		return ""
	}
	if err == nil {
		return spec.Label(r.Recipe)
	}
	return r.Recipe.Label()
}

// RecipeNote is what views add to a run's model name to tell it apart:
// its RecipeKind, but nothing for the seed's own recipe as it stands (the
// default) or a detection model's own.
func (r *Run) RecipeNote() string {
	if k := r.RecipeKind(); k != archs.RecipeSeed {
		return k
	}
	return ""
}

// ChosenOn says what the best epoch was chosen on: "val", "scenes" (a
// detection model's validation scenes), or "test" (the seed's way, which
// flatters the test accuracy it reports).
func (r *Run) ChosenOn() string {
	switch {
	case r.ValSize > 0:
		return "val"
	case r.detection():
		return "scenes"
	}
	return "test"
}

// clone returns a deep copy of r.
func (r *Run) clone() *Run {
	c := *r
	c.Recipe.Phases = append([]archs.Phase(nil), r.Recipe.Phases...)
	c.Layers = append([]string(nil), r.Layers...)
	c.Epochs = append([]trainer.EpochStats{}, r.Epochs...)
	c.ResumedAt = append([]time.Time(nil), r.ResumedAt...)
	c.Workers = append([]string(nil), r.Workers...)
	if r.FinishedAt != nil {
		t := *r.FinishedAt
		c.FinishedAt = &t
	}
	return &c
}

// Hooks replaced by tests to simulate failures.
var (
	syncFile   = (*os.File).Sync
	renameFile = os.Rename
)

// WriteFileAtomic writes data to path so that readers see either the old
// content or the new one, never a partial file: it writes a temporary file in
// the same directory, syncs it to disk and renames it over path. On failure
// the temporary file is removed and an existing file at path is left intact.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err = syncFile(f); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, unwrapPath(err))
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err = renameFile(tmp, path); err != nil {
		return fmt.Errorf("write %s: rename: %w", path, unwrapLink(err))
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// unwrapPath strips the path from an *fs.PathError so that messages which
// already name the file do not repeat it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return unwrapPath(err)
}

// validID reports whether id can be used as a directory name under the runs
// directory.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`+"\x00")
}

// SaveRun writes r as indented JSON to dir/<r.ID>/run.json, atomically,
// creating the run directory if needed.
func SaveRun(dir string, r *Run) error {
	if r == nil {
		return errors.New("save run: nil run")
	}
	if !validID(r.ID) {
		return fmt.Errorf("save run: invalid run id %q", r.ID)
	}
	runDir := filepath.Join(dir, r.ID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("save run %s: create %s: %w", r.ID, runDir, unwrapPath(err))
	}
	c := *r
	if c.Epochs == nil {
		c.Epochs = []trainer.EpochStats{}
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("save run %s: %w", r.ID, err)
	}
	data = append(data, '\n')
	return WriteFileAtomic(filepath.Join(runDir, RunFile), data, 0o644)
}

// LoadRun reads a run record. path is either a run.json file or a run
// directory containing one. Errors are one line and name the file.
func LoadRun(path string) (*Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, RunFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run record %s: %w", path, unwrapPath(err))
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("run record %s: invalid JSON: %v", path, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("run record %s: no run id", path)
	}
	if r.Epochs == nil {
		r.Epochs = []trainer.EpochStats{}
	}
	return &r, nil
}

// LoadRuns reads every <runsDir>/*/run.json, sorted by StartedAt then ID.
// Records that cannot be read or parsed are reported in the error list and
// skipped; directories without a run.json are ignored. A missing runsDir gives
// an empty list and no error; the final error is for a runsDir that exists but
// cannot be listed.
func LoadRuns(runsDir string) ([]*Run, []error, error) {
	runs := []*Run{}
	entries, err := os.ReadDir(runsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return runs, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("runs directory %s: %w", runsDir, unwrapPath(err))
	}
	var bad []error
	for _, e := range entries {
		p := filepath.Join(runsDir, e.Name(), RunFile)
		if !e.IsDir() {
			// Follow symlinks to directories; skip plain files.
			fi, err := os.Stat(filepath.Join(runsDir, e.Name()))
			if err != nil || !fi.IsDir() {
				continue
			}
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		r, err := LoadRun(p)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		runs = append(runs, r)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.ID < b.ID
	})
	return runs, bad, nil
}

// CheckWritable creates runsDir if needed and checks that a file can be
// created there, so that a long training run does not fail at its first save.
func CheckWritable(runsDir string) error {
	if err := os.MkdirAll(runsDir, 0o755); err != nil {
		return fmt.Errorf("runs directory %s is not usable: %v", runsDir, unwrapPath(err))
	}
	f, err := os.CreateTemp(runsDir, ".writable-*")
	if err != nil {
		return fmt.Errorf("runs directory %s is not writable: %v", runsDir, unwrapPath(err))
	}
	name := f.Name()
	_, werr := f.Write([]byte("ok\n"))
	cerr := f.Close()
	os.Remove(name)
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("runs directory %s is not writable: %v", runsDir, unwrapPath(werr))
	}
	return nil
}

// Recorder turns a stream of trainer events into run records on disk, one
// run.json per run under its runs directory, saved after every change.
//
// A Recorder is not safe for concurrent use: feed it from one goroutine (the
// one draining the event channel) and call Run from that goroutine too.
type Recorder struct {
	dir   string
	runs  map[string]*Run
	locks map[string]func() // run directory locks held while runs train (lock.go)
}

// NewRecorder returns a Recorder that writes under runsDir.
func NewRecorder(runsDir string) *Recorder {
	return &Recorder{dir: runsDir, runs: map[string]*Run{}, locks: map[string]func(){}}
}

// Handle consumes one event. RunStarted creates the record (status running)
// and saves it (a resumed run continues its record: start time, history);
// EpochEnd appends the epoch's figures, updates the best test accuracy, writes
// the run's best and final models and its checkpoint when the event carries
// one (checkpoint.go), and saves; RunFinished sets the status, error and finish time and
// saves. RunQueued and BatchProgress are ignored and never touch the disk.
// RunFinished for a run that never started (cancelled while queued) is
// ignored too: such a run has no record. The in-memory record is updated even
// when saving fails; the returned error is the save error.
func (r *Recorder) Handle(ev trainer.Event) error {
	switch e := ev.(type) {
	case trainer.RunStarted:
		if !validID(e.ID) {
			return fmt.Errorf("record run: invalid run id %q", e.ID)
		}
		run := &Run{}
		if e.Resumed {
			// Continue the existing record: its start and resumptions; the
			// epochs are those the checkpoint holds (run.json may lag it
			// by one).
			if old, err := LoadRun(filepath.Join(r.dir, e.ID)); err == nil {
				run.StartedAt = old.StartedAt
				run.ResumedAt = old.ResumedAt
				run.Workers = old.Workers
			}
		}
		run.Apply(e)
		r.runs[e.ID] = run
		// The lock before the first write: a run another process trains is
		// not written over. Held already: started again here (a cluster's
		// run resumed by another worker), still ours.
		if _, held := r.locks[e.ID]; !held {
			runDir := filepath.Join(r.dir, e.ID)
			if err := os.MkdirAll(runDir, 0o755); err != nil {
				return fmt.Errorf("record run: %v", unwrapPath(err))
			}
			unlock, err := LockRun(runDir)
			ReleaseRunID(r.dir, e.ID) // its directory names it now (runid.go)
			if err != nil {
				delete(r.runs, e.ID) // not ours: its epochs are not recorded either
				return err
			}
			r.locks[e.ID] = unlock
		}
		return SaveRun(r.dir, run)
	case trainer.EpochEnd:
		run := r.runs[e.ID]
		if run == nil {
			return fmt.Errorf("record run %s: epoch %d for a run that never started", e.ID, e.Stats.Epoch)
		}
		run.Apply(e)
		improved := run.BestEpoch == e.Stats.Epoch
		// Models and checkpoint first: run.json never names an epoch whose
		// state is not on disk.
		var artErr error
		if e.Checkpoint != nil {
			artErr = r.saveArtifacts(run, e.Checkpoint, e.Stats, improved)
		}
		if err := SaveRun(r.dir, run); err != nil {
			return err
		}
		return artErr
	case trainer.RunFinished:
		ReleaseRunID(r.dir, e.ID) // cancelled while queued: never started
		if unlock := r.locks[e.ID]; unlock != nil {
			defer unlock()
			delete(r.locks, e.ID)
		}
		run := r.runs[e.ID]
		if run == nil {
			return nil
		}
		run.Apply(e)
		return SaveRun(r.dir, run)
	}
	return nil
}

// Run returns a copy of the current in-memory record of run id, or nil if the
// recorder has not seen that run start.
func (r *Recorder) Run(id string) *Run {
	run := r.runs[id]
	if run == nil {
		return nil
	}
	return run.clone()
}
