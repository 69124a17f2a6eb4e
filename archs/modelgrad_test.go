package archs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWholeModelGradients checks every architecture's backward pass end to
// end: for each parameter tensor, the analytic gradient of the training loss
// on a small batch against central finite differences on its largest-gradient
// weights and a random one. It covers what the per-op checks cannot: the
// wiring between ops, the CNN2 family's residual fan-out (the first BatchNorm
// feeds both the convolution and the add) and model5's per-position dense.
// Dropout draws the same masks on every pass (its streams are rewound).
func TestWholeModelGradients(t *testing.T) {
	names := append(Names(), "CNN2_det")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := New(name, 3)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 4
			gr, err := m.Graph(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(5, 6))
			images := make([]float32, batch*784)
			for i := range images {
				images[i] = float32(r.Float64())
			}
			labels := make([]uint8, batch)
			for i := range labels {
				labels[i] = uint8(r.IntN(m.Spec.NumClasses()))
			}
			saved := make([]rand.PCG, len(m.Drops))
			for i, d := range m.Drops {
				saved[i] = *d
			}
			loss := func() float64 {
				for i, d := range m.Drops {
					*d = saved[i]
				}
				if err := gr.Run(images, labels); err != nil {
					t.Fatal(err)
				}
				// The loss again in float64 from the logits: the float32 loss
				// moves in steps of 2.4e-7 (its last bit at 2.3), too coarse
				// for the small steps below.
				z, k := gr.Logits(), m.Spec.NumClasses()
				var sum float64
				for i, l := range labels {
					row := z[i*k : (i+1)*k]
					mx := float64(slices.Max(row))
					var e float64
					for _, v := range row {
						e += math.Exp(float64(v) - mx)
					}
					sum += mx + math.Log(e) - float64(row[l])
				}
				return sum / float64(batch)
			}
			if l := loss(); math.Abs(l-gr.Loss()) > 1e-5 {
				t.Fatalf("the float64 loss %.6f is not the graph's %.6f", l, gr.Loss())
			}
			analytic := make([][]float32, len(m.Params))
			for i, g := range gr.Grads() {
				analytic[i] = append([]float32(nil), g...)
			}
			// Along each tensor's own gradient direction u = g/|g|, the loss
			// must change at the rate |g|, and along a random direction r at
			// the rate g.r. Moving every weight of the tensor a little gives a
			// signal far above float32's rounding noise with a step small
			// enough that few ReLU and max-pool kinks are crossed (single
			// weights need steps so large that the kinks bias the estimate).
			const eps = float32(1e-3)
			step := func(data, dir []float32, sgn float32) float64 {
				orig := slices.Clone(data)
				for i := range data {
					data[i] += sgn * eps * dir[i]
				}
				l := loss()
				copy(data, orig)
				return l
			}
			for pi, p := range m.Params {
				g := analytic[pi]
				var norm float64
				for _, v := range g {
					norm += float64(v) * float64(v)
				}
				norm = math.Sqrt(norm)
				if norm == 0 {
					t.Errorf("%s: no gradient reaches it", p.Name)
					continue
				}
				u := make([]float32, len(g))
				rd := make([]float32, len(g))
				var dot, rn float64
				for i, v := range g {
					u[i] = float32(float64(v) / norm)
					rd[i] = float32(r.NormFloat64())
					rn += float64(rd[i]) * float64(rd[i])
				}
				rn = math.Sqrt(rn)
				for i := range rd {
					rd[i] = float32(float64(rd[i]) / rn)
					dot += float64(rd[i]) * float64(g[i])
				}
				data := p.T.Float32s()
				for _, c := range []struct {
					what string
					dir  []float32
					want float64
				}{{"along its gradient", u, norm}, {"along a random direction", rd, dot}} {
					num := (step(data, c.dir, 1) - step(data, c.dir, -1)) / (2 * float64(eps))
					// Allowed: 5% of |g| (the kinks crossed) and the float32
					// forward pass's rounding, about 1e-6 of loss, over the step.
					if math.Abs(num-c.want) > 0.05*norm+3e-6/float64(eps) {
						t.Errorf("%s, %s: analytic %.6f, numeric %.6f (|g| %.4f)", p.Name, c.what, c.want, num, norm)
					}
				}
			}
			t.Logf("%d tensors checked", len(m.Params))
		})
	}
}
