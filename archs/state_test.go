package archs

import (
	"slices"
	"strings"
	"testing"
)

func TestDescribeCoversEveryArchitecture(t *testing.T) {
	for _, s := range Specs() {
		m, err := New(s.Name, 1)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Describe(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(info) != len(m.Layers) {
			t.Errorf("%s: %d described layers, %d summary lines", s.Name, len(info), len(m.Layers))
		}
		sum := 0
		for i, l := range info {
			sum += l.Params
			if !KnownLayerType(l.Type) || !strings.HasPrefix(l.Name, l.Type+"_") || len(l.Inputs) == 0 || len(l.Output) == 0 {
				t.Errorf("%s layer %d: %+v", s.Name, i, l)
			}
			if !strings.HasPrefix(m.Layers[i], l.Name+" ") {
				t.Errorf("%s layer %d is %s, summary says %q", s.Name, i, l.Name, m.Layers[i])
			}
		}
		if sum != m.ParamCount() {
			t.Errorf("%s: layer params add up to %d, model has %d", s.Name, sum, m.ParamCount())
		}
		if info[0].Inputs[0] != "input" {
			t.Errorf("%s: first layer reads %v", s.Name, info[0].Inputs)
		}
		tis, err := m.TensorInfos()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ti := range tis {
			k := 1
			for _, d := range ti.Shape {
				k *= d
			}
			n += k
		}
		if n != m.ParamCount() {
			t.Errorf("%s: exported tensors hold %d values, Keras count %d", s.Name, n, m.ParamCount())
		}
	}
	// The residual add reads the BatchNorm output and the conv output.
	info, _ := Describe("CNN2_dropout")
	for _, l := range info {
		if l.Name == "add_2" && !slices.Equal(l.Inputs, []string{"batch_normalization_2", "dropout_1"}) {
			t.Errorf("add_2 inputs %v", l.Inputs)
		}
		if l.Name == "conv2d_1" && (l.Filters != 64 || l.Kernel != 3 || l.Padding != "same" || l.Activation != "relu") {
			t.Errorf("conv2d_1 %+v", l)
		}
	}
}

func TestTensorsRoundTripAndLayouts(t *testing.T) {
	for _, name := range []string{"CNN2", "model5"} {
		a, _ := New(name, 1)
		b, _ := New(name, 2)
		a.BN[0].Mean[0], a.BN[0].Var[0] = 0.25, 3
		ts, err := a.Tensors()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetTensors(ts); err != nil {
			t.Fatal(err)
		}
		tb, _ := b.Tensors()
		for i := range ts {
			if ts[i].Name != tb[i].Name || !slices.Equal(ts[i].Data, tb[i].Data) {
				t.Fatalf("%s: tensor %s differs after SetTensors", name, ts[i].Name)
			}
		}
		for i, p := range a.Params {
			if !slices.Equal(p.Data(), b.Params[i].Data()) {
				t.Errorf("%s: parameter %s differs", name, p.Name)
			}
		}
		if b.BN[0].Mean[0] != 0.25 || b.BN[0].Var[0] != 3 {
			t.Errorf("%s: moving statistics not set", name)
		}
	}

	m, _ := New("model5", 1)
	ts, _ := m.Tensors()
	byName := map[string]Tensor{}
	for _, x := range ts {
		byName[x.Name] = x
	}
	// Conv kernels: [Cout, Cin*k*k] storage is [Cout, Cin, kh, kw] as is.
	param := func(name string) *Param {
		for _, p := range m.Params {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("no parameter %s", name)
		return nil
	}
	k := byName["conv2d_2.kernel"]
	if !slices.Equal(k.Shape, []int{64, 32, 3, 3}) || !slices.Equal(k.Data, param("conv2d_2.kernel").Data()) {
		t.Errorf("conv2d_2.kernel shape %v, or data not the storage", k.Shape)
	}
	// model5's per-position dense: stored [128, 64], exported [64, 128].
	stored := param("dense_1.kernel")
	d := byName["dense_1.kernel"]
	if !slices.Equal(d.Shape, []int{64, 128}) {
		t.Fatalf("dense_1.kernel exported as %v", d.Shape)
	}
	for _, rc := range [][2]int{{0, 0}, {5, 17}, {127, 63}} {
		o, i := rc[0], rc[1]
		if d.Data[i*128+o] != stored.Data()[o*64+i] {
			t.Errorf("dense_1.kernel[%d][%d] is not stored[%d][%d]", i, o, o, i)
		}
	}
	for _, x := range ts {
		if x.Name == "batch_normalization_1.moving_variance" && !slices.Equal(x.Shape, []int{26}) {
			t.Errorf("model5's height-axis BatchNorm has %v features", x.Shape)
		}
	}
}

func TestSetTensorsRefusesMismatches(t *testing.T) {
	m, _ := New("CNN2", 1)
	good, _ := m.Tensors()
	before, _ := m.Tensors()
	clone := func() []Tensor {
		out := make([]Tensor, len(good))
		for i, x := range good {
			out[i] = Tensor{x.Name, slices.Clone(x.Shape), make([]float32, len(x.Data))}
		}
		return out
	}
	missing := clone()[1:]
	shape := clone()
	shape[2].Shape = []int{32, 1, 9}
	extra := append(clone(), Tensor{"dense_9.kernel", []int{1}, []float32{1}})
	for name, ts := range map[string][]Tensor{"missing": missing, "shape": shape, "extra": extra} {
		err := m.SetTensors(ts)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	after, _ := m.Tensors()
	for i := range before {
		if !slices.Equal(before[i].Data, after[i].Data) {
			t.Fatalf("a refused SetTensors changed %s", before[i].Name)
		}
	}
}

func TestSnapshotRestoresDropoutStreams(t *testing.T) {
	a, _ := New("CNN2_dropout", 1)
	a.Drops[0].Uint64() // advance one stream
	s, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New("CNN2_dropout", 7)
	if err := b.Restore(s); err != nil {
		t.Fatal(err)
	}
	for i := range a.Drops {
		if a.Drops[i].Uint64() != b.Drops[i].Uint64() {
			t.Errorf("dropout stream %d differs after Restore", i)
		}
	}
	s.Dropout = s.Dropout[:1]
	if err := b.Restore(s); err == nil {
		t.Error("Restore accepted too few dropout streams")
	}
}
