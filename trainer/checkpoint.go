package trainer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"fmnist/archs"
)

// Checkpoint is everything needed to continue a run after its last finished
// epoch exactly as if it had never stopped: the model's weights, BatchNorm
// statistics and dropout streams, the optimizer of the current recipe phase,
// the shuffling stream, and the epochs so far. Train attaches one (a deep
// copy) to every EpochEnd; Job.Resume continues from one.
type Checkpoint struct {
	Run    string
	Model  string
	Seed   int64
	Recipe archs.Recipe
	Epoch  int // epochs finished
	Phase  int // recipe phase of epoch Epoch

	// The data slice the run trains and evaluates on.
	TrainSize, TestSize int
	ValSize             int    // validation images held out before TrainSize (Job.Val)
	TrainHash, TestHash string // DataHash of each

	State     *archs.Snapshot
	Optimizer OptimizerState
	Shuffle   []byte // the shuffling stream's rand.PCG state (MarshalBinary)

	History []EpochStats // every finished epoch, 1..Epoch
}

// OptimizerState is a solver's state: Adam's step count and moments or SGD's
// iteration count and velocities, keyed by parameter name, each in the
// parameter's storage order.
type OptimizerState struct {
	Kind string // "adam" or "sgd"
	Step int    // Adam.T or SGD.Iterations
	// Adam: "m" and "v"; SGD: "velocity". Slot -> parameter name -> values.
	Slots map[string]map[string][]float32
}

// DataHash fingerprints a data slice (images and labels), so that a resumed
// run can check it sees the same data.
func DataHash(d *Dataset) string {
	if d == nil || d.N == 0 {
		return ""
	}
	h := sha256.New()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(d.N))
	h.Write(n[:])
	// The float32 values, however d stores them, so that the fingerprint
	// does not depend on the storage; a few images at a time.
	const per = 8
	vals := make([]float32, per*Pixels)
	buf := make([]byte, 0, 4*len(vals))
	for lo := 0; lo < d.N; lo += per {
		hi := min(lo+per, d.N)
		v := vals[:(hi-lo)*Pixels]
		d.Fill(lo, hi, v)
		buf = buf[:0]
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
		h.Write(buf)
	}
	h.Write(d.Labels)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CheckResume reports why job cannot continue from checkpoint cp on these
// data, or nil.
func CheckResume(cp *Checkpoint, job Job, train, test *Dataset) error {
	if _, err := archs.Lookup(cp.Model); err != nil || !equalFoldModel(cp.Model, job.Model) {
		return fmt.Errorf("checkpoint is of model %q, the run is of %q", cp.Model, job.Model)
	}
	if cp.Seed != job.Seed {
		return fmt.Errorf("checkpoint has seed %d, the run %d", cp.Seed, job.Seed)
	}
	if len(cp.Recipe.Phases) == 0 {
		return fmt.Errorf("checkpoint has no recipe")
	}
	if cp.Epoch < 0 || cp.Epoch > cp.Recipe.Epochs() || len(cp.History) != cp.Epoch {
		return fmt.Errorf("checkpoint after epoch %d of %d has %d epochs of history", cp.Epoch, cp.Recipe.Epochs(), len(cp.History))
	}
	if cp.ValSize > 0 && train != nil && train.N == cp.TrainSize+cp.ValSize {
		// The whole training set: hold out the run's validation images.
		var err error
		if train, _, err = SplitVal(train, cp.ValSize, cp.Seed); err != nil {
			return err
		}
	}
	trainN, testN := 0, 0
	if train != nil {
		trainN = train.N
	}
	if test != nil {
		testN = test.N
	}
	if cp.TrainSize != trainN || cp.TestSize != testN {
		return fmt.Errorf("the run used %d training and %d test images, the data given have %d and %d", cp.TrainSize, cp.TestSize, trainN, testN)
	}
	if cp.Epoch == 0 {
		return nil
	}
	if cp.TrainHash != DataHash(train) || cp.TestHash != DataHash(test) {
		return fmt.Errorf("the data differ from those the run was trained on (same sizes, different images or labels)")
	}
	if cp.State == nil {
		return fmt.Errorf("checkpoint after epoch %d has no model state", cp.Epoch)
	}
	if cp.Phase != cp.Recipe.PhaseAt(cp.Epoch) {
		return fmt.Errorf("checkpoint after epoch %d is in phase %d, the recipe says %d", cp.Epoch, cp.Phase+1, cp.Recipe.PhaseAt(cp.Epoch)+1)
	}
	if want := cp.Recipe.Phases[cp.Phase].Optimizer; cp.Optimizer.Kind != want {
		return fmt.Errorf("checkpoint has %s optimizer state, phase %d uses %s", cp.Optimizer.Kind, cp.Phase+1, want)
	}
	return nil
}

func equalFoldModel(a, b string) bool {
	sa, err1 := archs.Lookup(a)
	sb, err2 := archs.Lookup(b)
	return err1 == nil && err2 == nil && sa.Name == sb.Name
}

// optimizerState copies a solver's state.
func optimizerState(s G.Solver, m *archs.Model) (OptimizerState, error) {
	slot := func(vals [][]float32) (map[string][]float32, error) {
		if len(vals) != len(m.Params) {
			return nil, fmt.Errorf("optimizer has state for %d parameters, the model has %d", len(vals), len(m.Params))
		}
		out := make(map[string][]float32, len(vals))
		for i, p := range m.Params {
			out[p.Name] = append([]float32(nil), vals[i]...)
		}
		return out, nil
	}
	switch s := s.(type) {
	case *archs.Adam:
		mm, err := slot(s.M)
		if err != nil {
			return OptimizerState{}, err
		}
		vv, err := slot(s.V)
		if err != nil {
			return OptimizerState{}, err
		}
		return OptimizerState{Kind: "adam", Step: s.T, Slots: map[string]map[string][]float32{"m": mm, "v": vv}}, nil
	case *archs.SGD:
		vel, err := slot(s.Vel)
		if err != nil {
			return OptimizerState{}, err
		}
		return OptimizerState{Kind: "sgd", Step: s.Iterations, Slots: map[string]map[string][]float32{"velocity": vel}}, nil
	}
	return OptimizerState{}, fmt.Errorf("cannot checkpoint optimizer %T", s)
}

// setOptimizerState gives a fresh solver of the right kind the saved state.
func setOptimizerState(s G.Solver, st OptimizerState, m *archs.Model) error {
	slot := func(name string) ([][]float32, error) {
		vals := st.Slots[name]
		if len(vals) != len(m.Params) {
			return nil, fmt.Errorf("optimizer slot %q has %d parameters, the model %d", name, len(vals), len(m.Params))
		}
		out := make([][]float32, len(m.Params))
		for i, p := range m.Params {
			v, ok := vals[p.Name]
			if !ok {
				return nil, fmt.Errorf("optimizer slot %q lacks parameter %s", name, p.Name)
			}
			if len(v) != p.T.Shape().TotalSize() {
				return nil, fmt.Errorf("optimizer slot %q of %s has %d values, want %d", name, p.Name, len(v), p.T.Shape().TotalSize())
			}
			out[i] = append([]float32(nil), v...)
		}
		return out, nil
	}
	if st.Step < 0 {
		return fmt.Errorf("optimizer step %d", st.Step)
	}
	switch s := s.(type) {
	case *archs.Adam:
		if st.Kind != "adam" {
			return fmt.Errorf("checkpoint has %s state for an Adam phase", st.Kind)
		}
		mm, err := slot("m")
		if err != nil {
			return err
		}
		vv, err := slot("v")
		if err != nil {
			return err
		}
		s.T, s.M, s.V = st.Step, mm, vv
		return nil
	case *archs.SGD:
		if st.Kind != "sgd" {
			return fmt.Errorf("checkpoint has %s state for an SGD phase", st.Kind)
		}
		vel, err := slot("velocity")
		if err != nil {
			return err
		}
		s.Iterations, s.Vel = st.Step, vel
		return nil
	}
	return fmt.Errorf("cannot restore optimizer %T", s)
}
