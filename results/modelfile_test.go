package results

import (
	"context"
	"encoding/binary"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"fmnist/archs"
	"fmnist/safetensors"
	"fmnist/trainer"
	"fmnist/trainer/trainertest"
)

func loadData(t *testing.T, nTrain, nTest int) (*trainer.Dataset, *trainer.Dataset) {
	t.Helper()
	return trainertest.Load(t, nTrain, nTest)
}

// train runs a job, feeding rec (if any), cancelling after epoch stopAfter
// (0: never); it returns the status and the checkpoints of EpochEnd events.
func train(t *testing.T, tr, te *trainer.Dataset, job trainer.Job, stopAfter int, rec *Recorder) (string, []*trainer.Checkpoint) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cps []*trainer.Checkpoint
	status, err := trainer.Train(ctx, tr, te, job, func(ev trainer.Event) {
		if rec != nil {
			if err := rec.Handle(ev); err != nil {
				t.Errorf("recording: %v", err)
			}
		}
		if e, ok := ev.(trainer.EpochEnd); ok {
			cps = append(cps, e.Checkpoint)
			if e.Stats.Epoch == stopAfter {
				cancel()
			}
		}
	})
	if err != nil {
		t.Fatalf("%s: %v", job.Model, err)
	}
	if rec != nil {
		if err := rec.Handle(trainer.RunFinished{ID: job.ID, Status: status}); err != nil {
			t.Error(err)
		}
	}
	return status, cps
}

func logits(t *testing.T, m *archs.Model, d *trainer.Dataset) []float32 {
	t.Helper()
	var out []float32
	if err := trainer.Predict(context.Background(), m, d.Images, d.N, func(_ int, l []float32) { out = append(out, l...) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportReloadGivesBitIdenticalLogits(t *testing.T) {
	tr, te := loadData(t, 512, 500)
	for _, name := range []string{"CNN2", "model5"} {
		_, cps := train(t, tr, te, trainer.Job{ID: "x", Model: name, Epochs: 1, Seed: 3}, 0, nil)
		cp := cps[0]
		orig, _ := archs.New(name, 99)
		if err := orig.Restore(cp.State); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "best")
		st := cp.History[0]
		src := SourceDoc{Run: "x", Kind: "best", Epoch: 1, TestAcc: st.TestAcc, TestLoss: st.TestLoss, TestSize: te.N,
			TrainSize: tr.N, ValSize: 100, ValAcc: 0.75, Seed: 3, Recipe: "improved: 1 ep, flips", Extra: map[string]float64{"f1": 0.5}}
		if err := SaveModel(dir, name, cp.State.Tensors, src); err != nil {
			t.Fatal(err)
		}
		m, doc, err := LoadModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, b := logits(t, orig, te), logits(t, m, te)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: logit %d is %v after reload, %v before", name, i, b[i], a[i])
			}
		}
		ev, err := Evaluate(context.Background(), m, te)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Accuracy() != st.TestAcc || doc.Source.TestAcc != st.TestAcc || doc.Source.Epoch != 1 {
			t.Errorf("%s: reloaded accuracy %v, recorded %v, model file says %v (epoch %d)", name, ev.Accuracy(), st.TestAcc, doc.Source.TestAcc, doc.Source.Epoch)
		}
		// The weights' metadata carries the run, epoch and test figures;
		// the rest of the source comes from model.yaml.
		if !reflect.DeepEqual(doc.Source, src) {
			t.Errorf("%s: reloaded source %+v, saved %+v", name, doc.Source, src)
		}
		// A model.yaml of another epoch of the same run (written before the
		// weights were replaced) lends only its run-wide fields.
		yml := filepath.Join(dir, ModelYAML)
		yb, _ := os.ReadFile(yml)
		if err := os.WriteFile(yml, []byte(strings.Replace(string(yb), "\n  epoch: 1\n", "\n  epoch: 2\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, doc2, err := LoadModel(dir); err != nil {
			t.Fatal(err)
		} else if s := doc2.Source; s.Epoch != 1 || s.Recipe != src.Recipe || s.ValSize != src.ValSize || s.ValAcc != 0 || s.Extra != nil {
			t.Errorf("%s: with model.yaml of epoch 2: source %+v", name, s)
		}
		if math.Abs(ev.Loss-st.TestLoss) > 1e-12 {
			t.Errorf("%s: reloaded loss %v, recorded %v", name, ev.Loss, st.TestLoss)
		}
		n := 0
		for r := range ev.Confusion {
			for c := range ev.Confusion[r] {
				n += ev.Confusion[r][c]
			}
		}
		if n != te.N {
			t.Errorf("confusion matrix counts %d images", n)
		}
		t.Logf("%s: %d logits identical, accuracy %.4f", name, len(a), ev.Accuracy())
	}
}

// savedModel writes an untrained CNN2 model and returns its directory.
func savedModel(t *testing.T) string {
	t.Helper()
	m, _ := archs.New("CNN2", 1)
	ts, _ := m.Tensors()
	dir := filepath.Join(t.TempDir(), "final")
	if err := SaveModel(dir, "CNN2", ts, SourceDoc{Run: "r", Kind: "final", Epoch: 2, TestAcc: 0.5, TestSize: 100, TrainSize: 100, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCorruptModelsAreRefused(t *testing.T) {
	good := savedModel(t)
	if _, _, err := LoadModel(good); err != nil {
		t.Fatal(err)
	}
	goodW, _ := os.ReadFile(filepath.Join(good, ModelWeights))
	goodY, _ := os.ReadFile(filepath.Join(good, ModelYAML))
	f, err := safetensors.Decode(goodW)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(edit func([]safetensors.Tensor) []safetensors.Tensor) []byte {
		ts := edit(append([]safetensors.Tensor(nil), f.Tensors...))
		b, err := safetensors.Encode(f.Metadata, ts)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type variant struct {
		weights, yaml []byte
		file, want    string
	}
	yamlEdit := func(old, new string) []byte {
		if !strings.Contains(string(goodY), old) {
			t.Fatalf("model.yaml lacks %q", old)
		}
		return []byte(strings.Replace(string(goodY), old, new, 1))
	}
	cases := map[string]variant{
		"truncated weights": {weights: goodW[:len(goodW)-100], file: ModelWeights, want: "truncated"},
		"header beyond file": {weights: append(binary.LittleEndian.AppendUint64(nil, uint64(len(goodW))), goodW[8:]...), file: ModelWeights,
			want: "goes beyond the end of the file"},
		"not safetensors": {weights: []byte("PK\x03\x04 this is a zip file, not weights"), file: ModelWeights, want: "not a safetensors file"},
		"wrong shape": {weights: reencode(func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == "conv2d_1.kernel" {
					ts[i].Shape = []int{32, 1, 9}
				}
			}
			return ts
		}), file: ModelWeights, want: "tensor conv2d_1.kernel has shape [32 1 9], architecture CNN2 wants [32 1 3 3]"},
		"wrong dtype": {weights: reencode(func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == "dense_2.bias" {
					ts[i] = safetensors.Tensor{Name: ts[i].Name, DType: "F64", Shape: ts[i].Shape, Data: make([]byte, 80)}
				}
			}
			return ts
		}), file: ModelWeights, want: "tensor dense_2.bias has dtype F64, want F32"},
		"missing tensor": {weights: reencode(func(ts []safetensors.Tensor) []safetensors.Tensor {
			return ts[:len(ts)-1]
		}), file: ModelWeights, want: "is missing"},
		"extra tensor": {weights: reencode(func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.F32("dense_3.kernel", []int{1}, []float32{1}))
		}), file: ModelWeights, want: "unexpected tensor dense_3.kernel"},
		"unknown layer type":   {yaml: yamlEdit("type: add", "type: attention"), file: ModelYAML, want: `unknown type "attention"`},
		"unknown architecture": {yaml: yamlEdit("architecture: CNN2", "architecture: CNN9"), file: ModelYAML, want: `unknown architecture "CNN9" (known: CNN2, CNN2_dropout, CNN3_dropout, reduced_all_cnn, all_cnn, model5, CNN2_det`},
		"different layer":      {yaml: yamlEdit("kernel_size: 3", "kernel_size: 5"), file: ModelYAML, want: "differs from architecture CNN2 in kernel_size"},
		"unknown field":        {yaml: yamlEdit("title:", "colour: red\ntitle:"), file: ModelYAML, want: "field colour not found"},
		"not yaml":             {yaml: []byte("{{{{"), file: ModelYAML, want: "invalid YAML"},
		"wrong input":          {yaml: yamlEdit("height: 28", "height: 32"), file: ModelYAML, want: "input 32x28x1"},
		"missing yaml":         {yaml: []byte{}, file: ModelYAML, want: "no such file"},
		"negative size":        {yaml: yamlEdit("train_size: ", "train_size: -"), file: ModelYAML, want: "negative epoch or image count"},
		"negative size in weights": {weights: func() []byte {
			md := maps.Clone(f.Metadata)
			md["fmnist.train_size"] = "-300"
			b, err := safetensors.Encode(md, f.Tensors)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(), file: ModelWeights, want: "negative epoch or image count"},
	}
	for name, c := range cases {
		dir := filepath.Join(t.TempDir(), "m")
		os.MkdirAll(dir, 0o755)
		w, y := goodW, goodY
		if c.weights != nil {
			w = c.weights
		}
		if c.yaml != nil {
			y = c.yaml
		}
		os.WriteFile(filepath.Join(dir, ModelWeights), w, 0o644)
		if len(y) > 0 {
			os.WriteFile(filepath.Join(dir, ModelYAML), y, 0o644)
		}
		_, _, err := LoadModel(dir)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, filepath.Join(dir, c.file)) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line naming %s and containing %q", name, msg, c.file, c.want)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	tr, te := loadData(t, 256, 100)
	_, cps := train(t, tr, te, trainer.Job{ID: "c", Model: "CNN2_dropout", Epochs: 1, Seed: 5}, 0, nil)
	cp := cps[0]
	data, err := EncodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cp, back) {
		t.Errorf("checkpoint changed in the round trip:\n%+v\n%+v", cp.Optimizer.Kind, back.Optimizer.Kind)
	}
	if back.Optimizer.Kind != "adam" || back.Optimizer.Step != 1 || len(back.Optimizer.Slots["m"]) != 14 || len(back.State.Dropout) != 2 {
		t.Errorf("optimizer %s step %d, %d m slots, %d dropout streams", back.Optimizer.Kind, back.Optimizer.Step, len(back.Optimizer.Slots["m"]), len(back.State.Dropout))
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, CheckpointFile), data[:len(data)/2], 0o644)
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, CheckpointFile)) {
		t.Errorf("truncated checkpoint: %v", err)
	}
	plain, _ := safetensors.Encode(nil, []safetensors.Tensor{safetensors.F32("a", []int{1}, []float32{1})})
	if _, err := DecodeCheckpoint(plain); err == nil || !strings.Contains(err.Error(), "not an fmnist checkpoint") {
		t.Errorf("plain safetensors as checkpoint: %v", err)
	}
}

func TestRecorderKeepsBestAndFinalModels(t *testing.T) {
	dir := t.TempDir()
	rec := NewRecorder(dir)
	m, _ := archs.New("CNN2", 1)
	snap, _ := m.Snapshot()
	id := "CNN2-20260101-000000"
	rec.Handle(trainer.RunStarted{ID: id, Model: "CNN2", Epochs: 3, TrainSize: 10, TestSize: 10, Seed: 1})
	var hist []trainer.EpochStats
	epochOf := func(sub string) string {
		f, err := safetensors.ReadFile(filepath.Join(dir, id, sub, ModelWeights))
		if err != nil {
			t.Fatal(err)
		}
		return f.Metadata["fmnist.epoch"]
	}
	for e, acc := range []float64{0.5, 0.4, 0.6} {
		st := trainer.EpochStats{Epoch: e + 1, TestAcc: acc}
		hist = append(hist, st)
		cp := &trainer.Checkpoint{Run: id, Model: "CNN2", Seed: 1, Recipe: archs.Recipe{Phases: []archs.Phase{{Epochs: 3, Batch: 256, Optimizer: "adam"}}},
			Epoch: e + 1, TrainSize: 10, TestSize: 10, State: snap, Optimizer: trainer.OptimizerState{Kind: "adam"}, History: append([]trainer.EpochStats(nil), hist...)}
		if err := rec.Handle(trainer.EpochEnd{ID: id, Epochs: 3, Stats: st, Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
		wantBest := map[int]string{0: "1", 1: "1", 2: "3"}[e]
		if got := epochOf(BestDir); got != wantBest {
			t.Errorf("after epoch %d: best model from epoch %s, want %s", e+1, got, wantBest)
		}
		if got := epochOf(FinalDir); got != strconv.Itoa(e+1) {
			t.Errorf("after epoch %d: final model from epoch %s", e+1, got)
		}
		cpk, err := LoadCheckpoint(filepath.Join(dir, id))
		if err != nil || cpk.Epoch != e+1 {
			t.Errorf("after epoch %d: checkpoint %v, %v", e+1, cpk, err)
		}
	}
	rec.Handle(trainer.RunFinished{ID: id, Status: trainer.StatusDone})
	r, _, err := BestRun(dir)
	if err != nil || r.ID != id || r.BestEpoch != 3 {
		t.Errorf("BestRun: %v, %v", r, err)
	}
}

// A detection model's best epoch is the one whose detections in the
// validation scenes have the best F1, not the one with the best crop
// accuracy.
func TestDetectionRunIsChosenOnItsScenes(t *testing.T) {
	dir := t.TempDir()
	rec := NewRecorder(dir)
	m, err := archs.New("CNN2_det", 1)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := m.Snapshot()
	id := "CNN2_det-20260101-000000"
	rec.Handle(trainer.RunStarted{ID: id, Model: "CNN2_det", Epochs: 3, TrainSize: 10, TestSize: 10, Seed: 1})
	var hist []trainer.EpochStats
	for e, f := range []struct{ acc, f1 float64 }{{0.9, 0.5}, {0.8, 0.7}, {0.95, 0.6}} {
		st := trainer.EpochStats{Epoch: e + 1, TestAcc: f.acc, Extra: map[string]float64{"det_f1": f.f1}}
		hist = append(hist, st)
		cp := &trainer.Checkpoint{Run: id, Model: "CNN2_det", Seed: 1, Recipe: archs.Recipe{Phases: []archs.Phase{{Epochs: 3, Batch: 256, Optimizer: "adam"}}},
			Epoch: e + 1, TrainSize: 10, TestSize: 10, State: snap, Optimizer: trainer.OptimizerState{Kind: "adam"}, History: append([]trainer.EpochStats(nil), hist...)}
		if err := rec.Handle(trainer.EpochEnd{ID: id, Epochs: 3, Stats: st, Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
	}
	rec.Handle(trainer.RunFinished{ID: id, Status: trainer.StatusDone})
	f, err := safetensors.ReadFile(filepath.Join(dir, id, BestDir, ModelWeights))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Metadata["fmnist.epoch"]; got != "2" {
		t.Errorf("best model from epoch %s, want 2 (the best F1 in the validation scenes)", got)
	}
	r, _, err := BestDetRun(dir)
	if err != nil || r.BestEpoch != 2 || r.BestTestAcc != 0.8 || r.ChosenOn() != "scenes" {
		t.Errorf("BestDetRun: %+v, %v", r, err)
	}
}
