package archs

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Getting and setting a model's full state: its weights and BatchNorm moving
// statistics under their exported names and layouts (what model.safetensors
// holds), and, for resuming training, its dropout random streams.
//
// Exported names and layouts, per layer (in layer order):
//
//	conv2d_N.kernel                  [out_channels, in_channels, kh, kw]  (PyTorch Conv2d.weight)
//	conv2d_N.bias                    [out_channels]
//	batch_normalization_N.gamma      [features]
//	batch_normalization_N.beta       [features]
//	batch_normalization_N.moving_mean     [features]
//	batch_normalization_N.moving_variance [features]
//	dense_N.kernel                   [in, out]  (Keras Dense kernel)
//	dense_N.bias                     [out]
//
// Conv kernels are stored as [Cout, Cin*k*k] matrices, the same bytes as
// [Cout, Cin, kh, kw]. model5's per-position Dense(128, softmax) is stored as
// a 1x1 convolution kernel [128, 64]; it is exported transposed, [64, 128],
// like every other dense kernel.

// Tensor is one named float32 tensor in export layout.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// TensorInfo names and shapes one exported tensor and says what its axes are.
type TensorInfo struct {
	Name   string
	Shape  []int
	Layout string
}

// slot ties an exported tensor to the model's live storage.
type slot struct {
	TensorInfo
	data []float32
	// rows, cols > 0: the storage is a rows x cols matrix exported transposed.
	rows, cols int
}

func (m *Model) slots() ([]slot, error) {
	params := make(map[string]*Param, len(m.Params))
	for _, p := range m.Params {
		params[p.Name] = p
	}
	var out []slot
	used := 0
	param := func(name string, shape []int, layout string) error {
		p := params[name]
		if p == nil {
			return fmt.Errorf("%s: no parameter %s", m.Spec.Name, name)
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if p.T.Shape().TotalSize() != n {
			return fmt.Errorf("%s: parameter %s has shape %v, export shape %v", m.Spec.Name, name, p.T.Shape(), shape)
		}
		out = append(out, slot{TensorInfo: TensorInfo{name, shape, layout}, data: p.Data()})
		used++
		return nil
	}
	bn := 0
	for _, l := range m.Info {
		var err error
		switch l.Type {
		case "conv2d":
			cin := params[l.Name+".kernel"]
			if cin == nil {
				return nil, fmt.Errorf("%s: no parameter %s.kernel", m.Spec.Name, l.Name)
			}
			in := cin.T.Shape()[1] / (l.Kernel * l.Kernel)
			if err = param(l.Name+".kernel", []int{l.Filters, in, l.Kernel, l.Kernel}, "out_channels, in_channels, kernel_height, kernel_width"); err == nil {
				err = param(l.Name+".bias", []int{l.Filters}, "out_channels")
			}
		case "dense":
			k := params[l.Name+".kernel"]
			if k == nil {
				return nil, fmt.Errorf("%s: no parameter %s.kernel", m.Spec.Name, l.Name)
			}
			if l.PerPosition {
				s := k.T.Shape() // [units, in]
				out = append(out, slot{TensorInfo: TensorInfo{l.Name + ".kernel", []int{s[1], s[0]}, "in, out"}, data: k.Data(), rows: s[0], cols: s[1]})
				used++
			} else {
				err = param(l.Name+".kernel", slices.Clone([]int(k.T.Shape())), "in, out")
			}
			if err == nil {
				err = param(l.Name+".bias", []int{l.Units}, "out")
			}
		case "batch_normalization":
			if bn >= len(m.BN) {
				return nil, fmt.Errorf("%s: no BatchNorm state for %s", m.Spec.Name, l.Name)
			}
			st := m.BN[bn]
			bn++
			c := len(st.Mean)
			what := "features (channels)"
			if l.Axis == 2 {
				what = "features (image rows: BatchNormalization(axis=1) on channels-last data)"
			}
			if err = param(l.Name+".gamma", []int{c}, what); err == nil {
				err = param(l.Name+".beta", []int{c}, what)
			}
			out = append(out,
				slot{TensorInfo: TensorInfo{l.Name + ".moving_mean", []int{c}, what}, data: st.Mean},
				slot{TensorInfo: TensorInfo{l.Name + ".moving_variance", []int{c}, what}, data: st.Var})
		}
		if err != nil {
			return nil, err
		}
	}
	if used != len(m.Params) || bn != len(m.BN) {
		return nil, fmt.Errorf("%s: layer descriptions cover %d of %d parameters and %d of %d BatchNorm states",
			m.Spec.Name, used, len(m.Params), bn, len(m.BN))
	}
	return out, nil
}

// TensorInfos lists the exported tensors, in layer order.
func (m *Model) TensorInfos() ([]TensorInfo, error) {
	ss, err := m.slots()
	if err != nil {
		return nil, err
	}
	out := make([]TensorInfo, len(ss))
	for i, s := range ss {
		out[i] = TensorInfo{s.Name, slices.Clone(s.Shape), s.Layout}
	}
	return out, nil
}

// Tensors returns copies of every weight and BatchNorm moving statistic, in
// export layout and layer order.
func (m *Model) Tensors() ([]Tensor, error) {
	ss, err := m.slots()
	if err != nil {
		return nil, err
	}
	out := make([]Tensor, len(ss))
	for i, s := range ss {
		d := make([]float32, len(s.data))
		if s.rows > 0 {
			for r := 0; r < s.rows; r++ {
				for c := 0; c < s.cols; c++ {
					d[c*s.rows+r] = s.data[r*s.cols+c]
				}
			}
		} else {
			copy(d, s.data)
		}
		out[i] = Tensor{Name: s.Name, Shape: slices.Clone(s.Shape), Data: d}
	}
	return out, nil
}

// SetTensors replaces the model's weights and BatchNorm moving statistics
// (in place: compiled graphs keep working). ts must hold exactly the tensors
// Tensors returns, with the same shapes, in any order; on error the model is
// unchanged.
func (m *Model) SetTensors(ts []Tensor) error {
	ss, err := m.slots()
	if err != nil {
		return err
	}
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return fmt.Errorf("tensor %s given twice", t.Name)
		}
		byName[t.Name] = t
	}
	for _, s := range ss {
		t, ok := byName[s.Name]
		if !ok {
			return fmt.Errorf("tensor %s is missing (architecture %s needs %d tensors)", s.Name, m.Spec.Name, len(ss))
		}
		if !slices.Equal(t.Shape, s.Shape) {
			return fmt.Errorf("tensor %s has shape %v, architecture %s wants %v", s.Name, t.Shape, m.Spec.Name, s.Shape)
		}
		if len(t.Data) != len(s.data) {
			return fmt.Errorf("tensor %s has %d values for shape %v", s.Name, len(t.Data), s.Shape)
		}
		delete(byName, s.Name)
	}
	for name := range byName {
		return fmt.Errorf("unexpected tensor %s (not in architecture %s)", name, m.Spec.Name)
	}
	for _, s := range ss {
		t := find(ts, s.Name)
		if s.rows > 0 {
			for r := 0; r < s.rows; r++ {
				for c := 0; c < s.cols; c++ {
					s.data[r*s.cols+c] = t.Data[c*s.rows+r]
				}
			}
		} else {
			copy(s.data, t.Data)
		}
	}
	return nil
}

func find(ts []Tensor, name string) Tensor {
	for _, t := range ts {
		if t.Name == name {
			return t
		}
	}
	return Tensor{}
}

// Snapshot is a model's full state: its tensors (as Tensors returns them)
// and the state of every dropout random stream.
type Snapshot struct {
	Tensors []Tensor
	Dropout [][]byte // rand.PCG MarshalBinary, one per dropout layer in order
}

// Snapshot returns a deep copy of the model's state.
func (m *Model) Snapshot() (*Snapshot, error) {
	ts, err := m.Tensors()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Tensors: ts}
	for i, d := range m.Drops {
		b, err := d.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("dropout stream %d: %w", i+1, err)
		}
		s.Dropout = append(s.Dropout, b)
	}
	return s, nil
}

// Restore sets the model's state from a snapshot, in place (compiled graphs
// keep working). On error the weights are unchanged; dropout streams are
// checked before anything is set.
func (m *Model) Restore(s *Snapshot) error {
	if len(s.Dropout) != len(m.Drops) {
		return fmt.Errorf("%d dropout stream states, architecture %s has %d dropout layers", len(s.Dropout), m.Spec.Name, len(m.Drops))
	}
	fresh := make([]*rand.PCG, len(s.Dropout))
	for i, b := range s.Dropout {
		fresh[i] = new(rand.PCG)
		if err := fresh[i].UnmarshalBinary(b); err != nil {
			return fmt.Errorf("dropout stream %d: %w", i+1, err)
		}
	}
	if err := m.SetTensors(s.Tensors); err != nil {
		return err
	}
	for i, d := range m.Drops {
		*d = *fresh[i]
	}
	return nil
}
