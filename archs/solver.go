package archs

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Our solvers implement gorgonia's Solver interface with Keras' update rules
// (gorgonia has no Nesterov SGD, and Keras' Adam adds epsilon to sqrt(v)).
// Their state is keyed by position in the list of parameters, which is the same
// on every step.

// ParamGrad pairs a parameter with its gradient for a Solver step.
type ParamGrad struct {
	P *tensor.Dense
	G []float32
}

func (pg ParamGrad) Value() G.Value { return pg.P }
func (pg ParamGrad) Grad() (G.Value, error) {
	return tensor.New(tensor.WithShape(pg.P.Shape()...), tensor.WithBacking(pg.G)), nil
}
func pairs(vg []G.ValueGrad) ([][]float32, [][]float32, error) {
	ps, gs := make([][]float32, len(vg)), make([][]float32, len(vg))
	for i, v := range vg {
		if pg, ok := v.(ParamGrad); ok {
			ps[i], gs[i] = pg.P.Float32s(), pg.G
			continue
		}
		g, err := v.Grad()
		if err != nil {
			return nil, nil, err
		}
		ps[i], gs[i] = f32(v.Value()), f32(g)
	}
	return ps, gs, nil
}

// Adam is Keras' Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); p -= lr_t*m/(sqrt(v)+eps).
// WD is decoupled weight decay (AdamW): each kernel shrinks by LR*WD of
// itself per step, outside the adaptive update.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	WD                    float64
	T                     int
	M, V                  [][]float32
}

// Scheduled is a solver whose learning rate a schedule sets before each
// step and whose decoupled weight decay a recipe sets.
type Scheduled interface {
	SetLR(lr float64)
	SetWeightDecay(wd float64)
}

func (a *Adam) SetLR(lr float64)          { a.LR = lr }
func (a *Adam) SetWeightDecay(wd float64) { a.WD = wd }
func (s *SGD) SetLR(lr float64)           { s.LR = lr }
func (s *SGD) SetWeightDecay(wd float64)  { s.WD = wd }

// kernels tells which parameters weight decay applies to: those of two or
// more dimensions (convolution and dense kernels), not biases or
// BatchNorm's scales and offsets.
func kernels(vg []G.ValueGrad) []bool {
	k := make([]bool, len(vg))
	for i, x := range vg {
		k[i] = x.Value().Shape().Dims() >= 2
	}
	return k
}

// NewAdam returns Adam with Keras' defaults and the given learning rate.
func NewAdam(lr float64) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7} }

// Step applies one update.
func (a *Adam) Step(vg []G.ValueGrad) error {
	ps, gs, err := pairs(vg)
	if err != nil {
		return err
	}
	if a.M == nil {
		a.M, a.V = make([][]float32, len(ps)), make([][]float32, len(ps))
		for i, p := range ps {
			a.M[i], a.V[i] = make([]float32, len(p)), make([]float32, len(p))
		}
	}
	if len(a.M) != len(ps) {
		return fmt.Errorf("adam: %d parameters, state for %d", len(ps), len(a.M))
	}
	a.T++
	t := float64(a.T)
	lrt := float32(a.LR * math.Sqrt(1-math.Pow(a.Beta2, t)) / (1 - math.Pow(a.Beta1, t)))
	b1, b2, eps := float32(a.Beta1), float32(a.Beta2), float32(a.Eps)
	var decay []bool
	if a.WD > 0 {
		decay = kernels(vg)
	}
	keep := float32(1 - a.LR*a.WD)
	parallelFor(len(ps), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			p, g, m, v := ps[i], gs[i], a.M[i], a.V[i]
			if decay != nil && decay[i] {
				for j := range p {
					p[j] *= keep
				}
			}
			for j := range p {
				m[j] = b1*m[j] + (1-b1)*g[j]
				v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
				p[j] -= lrt * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
			}
		}
	})
	return nil
}

// SGD is Keras' SGD with momentum, optional Nesterov and time decay:
// lr_t = lr/(1+decay*iterations); v = mu*v - lr_t*g;
// p += mu*v - lr_t*g (Nesterov) or p += v.
// WD is decoupled weight decay, as for Adam.
type SGD struct {
	LR, Momentum, Decay float64
	WD                  float64
	Nesterov            bool
	Iterations          int
	Vel                 [][]float32
}

// Step applies one update.
func (s *SGD) Step(vg []G.ValueGrad) error {
	ps, gs, err := pairs(vg)
	if err != nil {
		return err
	}
	if s.Vel == nil {
		s.Vel = make([][]float32, len(ps))
		for i, p := range ps {
			s.Vel[i] = make([]float32, len(p))
		}
	}
	if len(s.Vel) != len(ps) {
		return fmt.Errorf("sgd: %d parameters, state for %d", len(ps), len(s.Vel))
	}
	lr := float32(s.LR / (1 + s.Decay*float64(s.Iterations)))
	mu := float32(s.Momentum)
	s.Iterations++
	var decay []bool
	if s.WD > 0 {
		decay = kernels(vg)
	}
	keep := float32(1 - float64(lr)*s.WD)
	for i, p := range ps {
		g, v := gs[i], s.Vel[i]
		if decay != nil && decay[i] {
			for j := range p {
				p[j] *= keep
			}
		}
		for j := range p {
			v[j] = mu*v[j] - lr*g[j]
			if s.Nesterov {
				p[j] += mu*v[j] - lr*g[j]
			} else {
				p[j] += v[j]
			}
		}
	}
	return nil
}

// NewSolver returns the solver a recipe phase asks for.
func NewSolver(p Phase) (G.Solver, error) {
	switch p.Optimizer {
	case "adam":
		return NewAdam(p.LR), nil
	case "sgd":
		return &SGD{LR: p.LR, Momentum: p.Momentum, Decay: p.Decay, Nesterov: p.Nesterov}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q", p.Optimizer)
}

// Step applies solver s to the model's parameters with the gradients of gr's
// last run.
func (m *Model) Step(s G.Solver, gr *Graph) error {
	grads := gr.Grads()
	vg := make([]G.ValueGrad, len(m.Params))
	for i, p := range m.Params {
		vg[i] = ParamGrad{P: p.T, G: grads[i]}
	}
	return s.Step(vg)
}
