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

	"fmnist/archs"
	"fmnist/safetensors"
	"fmnist/trainer"
)

// CheckpointFile is a run's resumable state after its last finished epoch,
// rewritten atomically after every epoch: one safetensors file holding the
// model's tensors (same names and layouts as model.safetensors), the
// optimizer's slots as 1-D tensors "optimizer.<slot>.<parameter>" (Adam: m
// and v; SGD: velocity; in the parameter's storage order), and under the
// metadata key "fmnist.checkpoint" a JSON object with the counters: epoch,
// recipe phase, optimizer step, the random streams' states (shuffling and
// each dropout layer), the data slice's sizes and fingerprints, and the
// history of finished epochs.
const CheckpointFile = "checkpoint.safetensors"

const checkpointFormat = "fmnist-checkpoint/1"

type checkpointMeta struct {
	Format    string               `json:"format"`
	Run       string               `json:"run"`
	Model     string               `json:"model"`
	Seed      int64                `json:"seed"`
	Recipe    archs.Recipe         `json:"recipe"`
	Epoch     int                  `json:"epoch"`
	Phase     int                  `json:"phase"`
	TrainSize int                  `json:"train_size"`
	ValSize   int                  `json:"val_size,omitempty"`
	TestSize  int                  `json:"test_size"`
	TrainHash string               `json:"train_hash"`
	TestHash  string               `json:"test_hash"`
	Optimizer string               `json:"optimizer"`
	Step      int                  `json:"optimizer_step"`
	Slots     []string             `json:"optimizer_slots"`
	Shuffle   []byte               `json:"shuffle_rng"`
	Dropout   [][]byte             `json:"dropout_rngs"`
	Tensors   []string             `json:"model_tensors"`
	History   []trainer.EpochStats `json:"history"`
}

// EncodeCheckpoint serialises a checkpoint.
func EncodeCheckpoint(cp *trainer.Checkpoint) ([]byte, error) {
	if cp.State == nil {
		return nil, errors.New("checkpoint without model state")
	}
	meta := checkpointMeta{Format: checkpointFormat, Run: cp.Run, Model: cp.Model, Seed: cp.Seed, Recipe: cp.Recipe,
		Epoch: cp.Epoch, Phase: cp.Phase, TrainSize: cp.TrainSize, ValSize: cp.ValSize, TestSize: cp.TestSize,
		TrainHash: cp.TrainHash, TestHash: cp.TestHash, Optimizer: cp.Optimizer.Kind, Step: cp.Optimizer.Step,
		Shuffle: cp.Shuffle, Dropout: cp.State.Dropout, History: cp.History}
	var ts []safetensors.Tensor
	for _, t := range cp.State.Tensors {
		ts = append(ts, safetensors.F32(t.Name, t.Shape, t.Data))
		meta.Tensors = append(meta.Tensors, t.Name)
	}
	for slot := range cp.Optimizer.Slots {
		meta.Slots = append(meta.Slots, slot)
	}
	sort.Strings(meta.Slots)
	for _, slot := range meta.Slots {
		vals := cp.Optimizer.Slots[slot]
		names := make([]string, 0, len(vals))
		for n := range vals {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ts = append(ts, safetensors.F32("optimizer."+slot+"."+n, []int{len(vals[n])}, vals[n]))
		}
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	return safetensors.Encode(map[string]string{"fmnist.checkpoint": string(mj)}, ts)
}

// DecodeCheckpoint parses a checkpoint file's bytes. It checks the file's
// own consistency; whether it fits the run and the data is
// trainer.CheckResume's job, and whether its tensors fit the architecture
// Model.Restore's.
func DecodeCheckpoint(data []byte) (*trainer.Checkpoint, error) {
	f, err := safetensors.Decode(data)
	if err != nil {
		return nil, err
	}
	raw, ok := f.Metadata["fmnist.checkpoint"]
	if !ok {
		return nil, errors.New(`no "fmnist.checkpoint" metadata: not an fmnist checkpoint`)
	}
	var meta checkpointMeta
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("checkpoint metadata: %s", oneLine(err.Error()))
	}
	if meta.Format != checkpointFormat {
		return nil, fmt.Errorf("checkpoint format %q, want %q", meta.Format, checkpointFormat)
	}
	cp := &trainer.Checkpoint{Run: meta.Run, Model: meta.Model, Seed: meta.Seed, Recipe: meta.Recipe, Epoch: meta.Epoch,
		Phase: meta.Phase, TrainSize: meta.TrainSize, ValSize: meta.ValSize, TestSize: meta.TestSize, TrainHash: meta.TrainHash, TestHash: meta.TestHash,
		Shuffle: meta.Shuffle, History: meta.History,
		State:     &archs.Snapshot{Dropout: meta.Dropout},
		Optimizer: trainer.OptimizerState{Kind: meta.Optimizer, Step: meta.Step, Slots: map[string]map[string][]float32{}}}
	if cp.History == nil {
		cp.History = []trainer.EpochStats{}
	}
	used := map[string]bool{}
	f32 := func(name string) ([]float32, []int, error) {
		t, ok := f.Tensor(name)
		if !ok {
			return nil, nil, fmt.Errorf("tensor %s is missing", name)
		}
		used[name] = true
		v, err := t.Float32s()
		return v, t.Shape, err
	}
	for _, n := range meta.Tensors {
		v, shape, err := f32(n)
		if err != nil {
			return nil, err
		}
		cp.State.Tensors = append(cp.State.Tensors, archs.Tensor{Name: n, Shape: shape, Data: v})
	}
	for _, slot := range meta.Slots {
		cp.Optimizer.Slots[slot] = map[string][]float32{}
	}
	for _, t := range f.Tensors {
		if used[t.Name] {
			continue
		}
		rest, ok := strings.CutPrefix(t.Name, "optimizer.")
		slot, param, ok2 := strings.Cut(rest, ".")
		vals, ok3 := cp.Optimizer.Slots[slot]
		if !ok || !ok2 || !ok3 {
			return nil, fmt.Errorf("unexpected tensor %s", t.Name)
		}
		v, _, err := f32(t.Name)
		if err != nil {
			return nil, err
		}
		vals[param] = v
	}
	return cp, nil
}

// SaveCheckpoint writes runDir/checkpoint.safetensors atomically.
func SaveCheckpoint(runDir string, cp *trainer.Checkpoint) error {
	data, err := EncodeCheckpoint(cp)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %v", filepath.Join(runDir, CheckpointFile), err)
	}
	return WriteFileAtomic(filepath.Join(runDir, CheckpointFile), data, 0o644)
}

// LoadCheckpoint reads runDir/checkpoint.safetensors; a missing file gives
// an error wrapping fs.ErrNotExist.
func LoadCheckpoint(runDir string) (*trainer.Checkpoint, error) {
	path := filepath.Join(runDir, CheckpointFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint %s: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("checkpoint %s: %v", path, unwrapPath(err))
	}
	cp, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %v", path, err)
	}
	return cp, nil
}

// saveArtifacts writes, after an epoch, the run's best model (when the epoch
// improved on it), its final model and its checkpoint, in that order: a
// crash between two of them leaves files that a resumed run makes
// consistent again (it retrains the lost epoch bit for bit).
func (r *Recorder) saveArtifacts(run *Run, cp *trainer.Checkpoint, st trainer.EpochStats, improved bool) error {
	runDir := filepath.Join(r.dir, run.ID)
	src := SourceDoc{Run: run.ID, Epoch: st.Epoch, TestAcc: st.TestAcc, TestLoss: st.TestLoss,
		TestSize: cp.TestSize, TrainSize: cp.TrainSize, ValSize: cp.ValSize, ValAcc: st.ValAcc, Seed: cp.Seed, Extra: st.Extra}
	if spec, err := archs.Lookup(cp.Model); err == nil && !spec.Detection {
		src.Recipe = cp.Recipe.Kind() + ": " + cp.Recipe.String()
	}
	if improved {
		src.Kind = BestDir
		if err := SaveModel(filepath.Join(runDir, BestDir), cp.Model, cp.State.Tensors, src); err != nil {
			return err
		}
	}
	src.Kind = FinalDir
	if err := SaveModel(filepath.Join(runDir, FinalDir), cp.Model, cp.State.Tensors, src); err != nil {
		return err
	}
	return SaveCheckpoint(runDir, cp)
}
