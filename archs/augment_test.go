package archs

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// blob is a 28x28 image with one bright rectangle away from the edges.
func blob() []float32 {
	img := make([]float32, 784)
	for y := 8; y < 20; y++ {
		for x := 6; x < 16; x++ {
			img[y*28+x] = float32(y+x) / 40
		}
	}
	return img
}

func TestAugmentShiftAndFlipMoveThePixels(t *testing.T) {
	tmp := make([]float32, 784)
	for seed := range uint64(50) {
		img := blob()
		rng := rand.New(rand.NewPCG(seed, 1))
		Augment{Shift: 2, Flip: true}.Apply(img, tmp, 28, rng)
		// Nothing falls off the edge: the same values, moved.
		a, b := slices.Clone(img), blob()
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: the pixel values changed, not only their places", seed)
		}
		// Each pixel comes from one at most 2 rows and 2 columns away, or
		// its mirror image.
		src := blob()
		found := false
		for dy := -2; dy <= 2 && !found; dy++ {
			for dx := -2; dx <= 2 && !found; dx++ {
				for _, flip := range []bool{false, true} {
					ok := true
					for y := 0; y < 28 && ok; y++ {
						for x := 0; x < 28; x++ {
							sx, sy := x-dx, y-dy
							if flip {
								sx = 27 - x - dx
							}
							var want float32
							if sx >= 0 && sx < 28 && sy >= 0 && sy < 28 {
								want = src[sy*28+sx]
							}
							if img[y*28+x] != want {
								ok = false
								break
							}
						}
					}
					found = found || ok
				}
			}
		}
		if !found {
			t.Fatalf("seed %d: not a shift of at most 2 pixels, mirrored or not", seed)
		}
	}
}

func TestAugmentIsReproducibleAndVaries(t *testing.T) {
	aug := Augment{Shift: 2, Flip: true, Erase: 0.5}
	tmp := make([]float32, 784)
	run := func(seed uint64) [][]float32 {
		rng := rand.New(rand.NewPCG(seed, 9))
		var out [][]float32
		for range 20 {
			img := blob()
			aug.Apply(img, tmp, 28, rng)
			if len(img) != 784 {
				t.Fatalf("shape changed: %d values", len(img))
			}
			for _, v := range img {
				if v < 0 || v > 1 || math.IsNaN(float64(v)) {
					t.Fatalf("value %v outside [0,1]", v)
				}
			}
			out = append(out, img)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	same := func(x, y [][]float32) bool {
		for i := range x {
			if !slices.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed augmented differently")
	}
	if same(a, c) {
		t.Error("seeds 1 and 2 augmented alike")
	}
	erased := 0
	for _, img := range a {
		s1, s2 := slices.Clone(img), blob()
		slices.Sort(s1)
		slices.Sort(s2)
		if !slices.Equal(s1, s2) {
			erased++
		}
	}
	if erased < 4 || erased > 16 {
		t.Errorf("%d of 20 images erased at probability 0.5", erased)
	}
}

func TestLRFactorCosineWithWarmup(t *testing.T) {
	r := Recipe{Schedule: "cosine", WarmupEpochs: 1}
	for _, c := range []struct{ at, want float64 }{{0.5, 0.5 * (0.5 * (1 + math.Cos(math.Pi*0.5/10)))}, {1, 0.5 * (1 + math.Cos(math.Pi/10))}, {5, 0.5}, {10, 0}} {
		if got := r.LRFactor(c.at, 10); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("factor at %g of 10 epochs = %.4f, want %.4f", c.at, got, c.want)
		}
	}
	if got := (Recipe{}).LRFactor(3, 10); got != 1 {
		t.Errorf("no schedule: factor %g", got)
	}
}

func TestImprovedRecipeKeepsTheBudget(t *testing.T) {
	for _, s := range Specs() {
		seed, err1 := s.RecipeNamed("seed")
		imp, err2 := s.RecipeNamed("improved")
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", s.Name, err1, err2)
		}
		// Same epochs and first batch; the phases too unless the spec
		// adjusts its improved recipe (model5's is one phase).
		if imp.Epochs() != seed.Epochs() || (s.Improve == nil && len(imp.Phases) != len(seed.Phases)) || imp.Phases[0].Batch != seed.Phases[0].Batch {
			t.Errorf("%s: improved %s, seed %s", s.Name, imp, seed)
		}
		if seed.Extras() != "" || imp.Extras() == "" {
			t.Errorf("%s: extras seed %q, improved %q", s.Name, seed.Extras(), imp.Extras())
		}
		if w := imp.WithEpochs(3); w.Augment == nil || w.Name != RecipeImproved {
			t.Errorf("%s: WithEpochs dropped the improved recipe's extras: %+v", s.Name, w)
		}
	}
	if _, err := (Spec{}).RecipeNamed("fast"); err == nil {
		t.Error("unknown recipe name accepted")
	}
}

// Decoupled weight decay shrinks kernels by lr*wd a step and leaves biases.
func TestAdamWeightDecayIsDecoupled(t *testing.T) {
	m, err := New("CNN2", 1)
	if err != nil {
		t.Fatal(err)
	}
	var vg []G.ValueGrad
	var before [][]float32
	for _, p := range m.Params {
		vg = append(vg, ParamGrad{P: p.T, G: make([]float32, p.T.Shape().TotalSize())})
		before = append(before, slices.Clone(p.Data()))
	}
	a := NewAdam(0.01)
	a.SetWeightDecay(0.5)
	if err := a.Step(vg); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params {
		now := p.Data()
		k := float32(1)
		if p.T.Shape().Dims() >= 2 {
			k = 1 - 0.01*0.5
		}
		for j := range now {
			if math.Abs(float64(now[j]-before[i][j]*k)) > 1e-6 {
				t.Fatalf("%s[%d]: %v, want %v (shape %v)", p.Name, j, now[j], before[i][j]*k, p.T.Shape())
			}
		}
	}
}

// Label smoothing trains on (1-e)*onehot + e/K: the loss is the
// cross-entropy against those targets.
func TestLabelSmoothingLoss(t *testing.T) {
	m, err := New("CNN2", 2)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := m.Graph(4, true)
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([]float32, 4*784)
	for i := range imgs {
		imgs[i] = float32(i%97) / 97
	}
	labels := []uint8{0, 3, 9, 3}
	for _, eps := range []float32{0, 0.1, 0.3} {
		gr.Smoothing = eps
		if err := gr.Run(imgs, labels); err != nil {
			t.Fatal(err)
		}
		lg := gr.Logits()
		var want float64
		for i, l := range labels {
			row := lg[i*10 : (i+1)*10]
			for c := range 10 {
				tc := float64(eps) / 10
				if c == int(l) {
					tc += 1 - float64(eps)
				}
				// -log softmax_c = CrossEntropy(row, c)
				want += tc * CrossEntropy(row, c)
			}
		}
		want /= 4
		if got := gr.Loss(); math.Abs(got-want) > 1e-4 {
			t.Errorf("smoothing %g: loss %.5f, want %.5f", eps, got, want)
		}
	}
}

// Keras 2.2's clipping: a row whose target class is predicted beyond
// 1-1e-7 passes no gradient; other rows get the plain softmax gradient.
func TestKerasClipGradient(t *testing.T) {
	o := &xentOp{n: 2, k: 3, clip: true}
	z := []float32{30, 0, 0, 0.5, 0.2, -0.1} // row 0 is sure of class 0
	tgt := []float32{1, 0, 0, 0, 1, 0}
	o.probs = make([]float32, 6)
	for i := range 2 {
		softmaxRow(z[i*3:(i+1)*3], o.probs[i*3:(i+1)*3], tgt[i*3:(i+1)*3])
	}
	g := &xentGrad{o: o}
	one := tensor.New(tensor.WithShape(), tensor.WithBacking([]float32{1}))
	if err := g.compute([]G.Value{nil, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(tgt)), nil, one}); err != nil {
		t.Fatal(err)
	}
	dz := g.dz.Float32s()
	for i := range 3 {
		if dz[i] != 0 {
			t.Errorf("clipped row: dz[%d] = %g, want 0", i, dz[i])
		}
		want := (o.probs[3+i] - tgt[3+i]) / 2
		if math.Abs(float64(dz[3+i]-want)) > 1e-7 {
			t.Errorf("row 1: dz[%d] = %g, want %g", i, dz[3+i], want)
		}
	}
	o.clip = false
	g.compute([]G.Value{nil, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(tgt)), nil, one})
	if dz := g.dz.Float32s(); dz[1] == 0 {
		t.Error("without clipping the sure row still has a gradient")
	}
}

// A recipe has no changes whatever its epoch count or clipping, and has once
// its name's definition has changed (an older run's improved CNN2 at twice
// the seed's rate, not eight times).
func TestRecipeCurrent(t *testing.T) {
	for _, s := range Specs() {
		for _, name := range []string{RecipeSeed, RecipeImproved} {
			r, _ := s.RecipeNamed(name)
			for _, n := range []int{0, 1, 3} {
				w := r.WithEpochs(n)
				w.KerasClip = n == 3
				if len(s.Changes(w)) > 0 {
					t.Errorf("%s %s with %d epochs (clip %v) not current", s.Name, name, n, w.KerasClip)
				}
			}
		}
	}
	cnn2, _ := Lookup("CNN2")
	imp, _ := cnn2.RecipeNamed(RecipeImproved)
	old := imp.WithEpochs(0)
	old.Phases[0].LR = 2e-3
	if len(cnn2.Changes(old)) == 0 {
		t.Error("CNN2's improved recipe at lr 0.002 counts as current")
	}
	flips := imp.WithEpochs(0)
	flips.Augment = &Augment{Flip: true, Shift: 1}
	if len(cnn2.Changes(flips)) == 0 {
		t.Error("an improved recipe with other augmentation counts as current")
	}
	// Changes names what differs, so that two older versions stay apart.
	many := old
	many.Augment, many.LabelSmoothing, many.Schedule = &Augment{Erase: 0.3}, 0.05, ""
	m5, _ := Lookup("model5")
	m5seed, _ := m5.RecipeNamed(RecipeSeed)
	m5seed.Phases[1].Batch = 256
	for _, c := range []struct {
		s    Spec
		r    Recipe
		want string
	}{
		{cnn2, old, "lr0.002"}, {cnn2, flips, "shift1"}, {cnn2, imp, ""},
		{cnn2, many, "lr0.002 const ls0.05 noflip erase0.3"}, {m5, m5seed, "p2batch256"},
	} {
		if got := strings.Join(c.s.Changes(c.r), " "); got != c.want {
			t.Errorf("%s: changes %q, want %q", c.s.Name, got, c.want)
		}
	}
	seed, _ := cnn2.RecipeNamed(RecipeSeed)
	if len(cnn2.Changes(Recipe{Phases: nil})) > 0 || len(cnn2.Changes(Recipe{Phases: []Phase{adam(35, 128, 1e-3)}})) == 0 || len(cnn2.Changes(Recipe{Phases: seed.Phases})) > 0 {
		t.Error("records without phases, with another batch, or unnamed seed recipes judged wrongly")
	}
}
