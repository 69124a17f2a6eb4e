package archs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The fused add and pool gives, bit for bit, what AddChannels then
// MaxPool2x2 give: the output and both inputs' gradients (ties included:
// the inputs are rounded so that windows hold equal sums).
func TestAddMaxPoolEqualsAddThenPool(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct {
		name string
		ca   int
		h    int
		same bool
	}{{"broadcast, same, odd size", 1, 7, true}, {"same channels, same, even", 3, 8, true}, {"broadcast, valid", 1, 6, false}} {
		t.Run(c.name, func(t *testing.T) {
			a, b := randTensor(r, 3, c.ca, c.h, c.h), randTensor(r, 3, 3, c.h, c.h)
			for _, x := range [][]float32{a.Float32s(), b.Float32s()} {
				for i := range x {
					x[i] = float32(int(x[i]*2)) / 2 // many ties
				}
			}
			run := func(fused bool) (y []float32, da, db []float32) {
				g := G.NewGraph()
				an := G.NodeFromAny(g, a.Clone().(*tensor.Dense), G.WithName("a"))
				bn := G.NodeFromAny(g, b.Clone().(*tensor.Dense), G.WithName("b"))
				var out *G.Node
				var err error
				if fused {
					out, err = AddMaxPool2x2(an, bn, c.same)
				} else if out, err = AddChannels(an, bn); err == nil {
					out, err = MaxPool2x2(out, c.same)
				}
				if err != nil {
					t.Fatal(err)
				}
				r := make([]float32, out.Shape().TotalSize())
				for i := range r {
					r[i] = float32(i%7) - 3
				}
				y, grads := probeGrads(t, g, out, r, an, bn)
				return y, grads[0], grads[1]
			}
			y1, da1, db1 := run(true)
			y2, da2, db2 := run(false)
			if !slices.Equal(y1, y2) || !slices.Equal(da1, da2) || !slices.Equal(db1, db2) {
				t.Errorf("fused: y %v da %v db %v\nseparate: y %v da %v db %v", y1[:6], da1[:6], db1[:6], y2[:6], da2[:6], db2[:6])
			}
		})
	}
}

// Evaluation graphs of the CNN2 family compute each block as one convPoolOp;
// their logits equal, bit for bit, those of the unfused graph (convolution,
// dropout, fused add and pool), and the layers they describe are the same.
func TestFusedEvaluationMatchesUnfused(t *testing.T) {
	for _, name := range []string{"CNN2", "CNN2_dropout", "CNN3_dropout", "CNN2_det"} {
		t.Run(name, func(t *testing.T) {
			fused, err := New(name, 4)
			if err != nil {
				t.Fatal(err)
			}
			fuseEval = false
			plain, err := New(name, 4)
			fuseEval = true
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fused.Layers, plain.Layers) || fmt.Sprint(fused.Info) != fmt.Sprint(plain.Info) {
				t.Fatalf("layers differ:\n%v\n%v", fused.Info, plain.Info)
			}
			for i, p := range fused.Params {
				if !slices.Equal(p.T.Float32s(), plain.Params[i].T.Float32s()) {
					t.Fatalf("initial %s differs", p.Name)
				}
			}
			// Moving statistics away from 0 and 1, so BatchNorm does something.
			for i, st := range fused.BN {
				for c := range st.Mean {
					st.Mean[c], st.Var[c] = 0.1*float32(c%3), 0.5+0.2*float32(c%4)
					plain.BN[i].Mean[c], plain.BN[i].Var[c] = st.Mean[c], st.Var[c]
				}
			}
			const n = 37 // odd: chunks of several images and a short last one
			r := rand.New(rand.NewPCG(2, 3))
			images := make([]float32, n*784)
			for i := range images {
				images[i] = float32(r.Float64())
			}
			logits := func(m *Model, fuse bool) []float32 {
				fuseEval = fuse
				defer func() { fuseEval = true }()
				gr, err := m.Graph(n, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := gr.Run(images, nil); err != nil {
					t.Fatal(err)
				}
				return slices.Clone(gr.Logits())
			}
			a, b := logits(fused, true), logits(plain, false)
			if !slices.Equal(a, b) {
				t.Errorf("logits differ: %v vs %v", a[:5], b[:5])
			}
			found := false
			gr, _ := fused.Graph(n, false)
			for _, nd := range gr.g.AllNodes() {
				if _, ok := nd.Op().(*convPoolOp); ok {
					found = true
				}
			}
			if !found {
				t.Error("the evaluation graph has no fused block")
			}
		})
	}
}

// The pool against a plain reference on every small plane, thin ones
// included ('same' on widths and heights 1 to 7, 'valid' from 2), with and
// without a residual: maximum, first winner in row order, padding never
// wins; and its gradient: each output's gradient at its window's first
// winner, zero elsewhere, in both inputs (summed over channels for a
// broadcast residual).
func TestAddMaxPoolMatchesReferenceOnSmallPlanes(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for h := 1; h <= 7; h++ {
		for w := 1; w <= 7; w++ {
			for _, same := range []bool{true, false} {
				if !same && (h < 2 || w < 2) {
					continue
				}
				for _, ca := range []int{0, 1, 2} { // 0: no residual
					const n, c = 2, 2
					x := randTensor(r, n, c, h, w)
					for i, v := range x.Float32s() {
						x.Float32s()[i] = float32(int(v * 2)) // ties
					}
					var a *tensor.Dense
					ins := []*tensor.Dense{x}
					if ca > 0 {
						a = randTensor(r, n, ca, h, w)
						for i, v := range a.Float32s() {
							a.Float32s()[i] = float32(int(v * 2))
						}
						ins = []*tensor.Dense{a, x}
					}
					g := G.NewGraph()
					var nodes G.Nodes
					for i, in := range ins {
						nodes = append(nodes, G.NodeFromAny(g, in, G.WithName(fmt.Sprint("in", i))))
					}
					var out *G.Node
					var err error
					if ca > 0 {
						out, err = AddMaxPool2x2(nodes[0], nodes[1], same)
					} else {
						out, err = MaxPool2x2(nodes[0], same)
					}
					if err != nil {
						t.Fatal(err)
					}
					p := newMaxPool(x.Shape(), same)
					gy := make([]float32, n*c*p.ho*p.wo)
					for i := range gy {
						gy[i] = float32(i%5) + 1
					}
					got, grads := probeGrads(t, g, out, gy, nodes...)
					var want []float32
					wantDx := make([]float32, n*c*h*w)
					wantDa := make([]float32, n*max(ca, 1)*h*w)
					for i := 0; i < n; i++ {
						for ch := 0; ch < c; ch++ {
							for oy := 0; oy < p.ho; oy++ {
								for ox := 0; ox < p.wo; ox++ {
									best, found, at, atA := float32(0), false, 0, 0
									for dy := 0; dy < 2; dy++ {
										for dx := 0; dx < 2; dx++ {
											y, xx := oy*2-p.pt+dy, ox*2-p.pl+dx
											if y < 0 || y >= h || xx < 0 || xx >= w {
												continue
											}
											v := x.Float32s()[((i*c+ch)*h+y)*w+xx]
											ia := 0
											if ca > 0 {
												ia = ((i*ca+ch%ca)*h+y)*w + xx
												v += a.Float32s()[ia]
											}
											if !found || v > best {
												best, found, at, atA = v, true, ((i*c+ch)*h+y)*w+xx, ia
											}
										}
									}
									want = append(want, best)
									gv := gy[len(want)-1]
									wantDx[at] += gv
									if ca > 0 {
										wantDa[atA] += gv
									}
								}
							}
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%dx%d same=%v residual channels %d: pooled %v, want %v", h, w, same, ca, got, want)
					}
					dx := grads[len(grads)-1]
					if !slices.Equal(dx, wantDx) {
						t.Fatalf("%dx%d same=%v residual channels %d: gradient %v, want %v", h, w, same, ca, dx, wantDx)
					}
					if ca > 0 && !slices.Equal(grads[0], wantDa) {
						t.Fatalf("%dx%d same=%v residual channels %d: residual's gradient %v, want %v", h, w, same, ca, grads[0], wantDa)
					}
				}
			}
		}
	}
}
