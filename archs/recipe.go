package archs

import (
	"fmt"
	"strings"
)

// Phase is one stretch of training with a fixed batch size and optimizer.
// model5 has two phases; every other seed model has one.
type Phase struct {
	Epochs    int     `json:"epochs"`
	Batch     int     `json:"batch"`
	Optimizer string  `json:"optimizer"` // "adam" or "sgd"
	LR        float64 `json:"lr"`
	Momentum  float64 `json:"momentum,omitempty"`
	Nesterov  bool    `json:"nesterov,omitempty"`
	Decay     float64 `json:"decay,omitempty"` // lr / (1 + decay*step)
}

// Recipe is a model's training schedule, as the seed's code ran it.
type Recipe struct {
	Phases []Phase `json:"phases"`
}

// Epochs is the total number of epochs over all phases.
func (r Recipe) Epochs() int {
	n := 0
	for _, p := range r.Phases {
		n += p.Epochs
	}
	return n
}

// PhaseAt returns the phase index that epoch e (1-based) belongs to.
func (r Recipe) PhaseAt(e int) int {
	for i, p := range r.Phases {
		if e <= p.Epochs {
			return i
		}
		e -= p.Epochs
	}
	return len(r.Phases) - 1
}

// WithEpochs returns the recipe shortened or lengthened to n epochs in total.
// A single phase simply gets n epochs. Several phases are scaled proportionally,
// rounding to the nearest epoch, with every phase keeping at least one epoch when
// n allows it (model5's 10+30 becomes 1+2 for n=3, 1+1 for n=2, 1+0 for n=1);
// the last phase takes whatever rounding leaves over.
func (r Recipe) WithEpochs(n int) Recipe {
	out := Recipe{Phases: append([]Phase(nil), r.Phases...)}
	if n <= 0 || len(out.Phases) == 0 {
		return out
	}
	if len(out.Phases) == 1 {
		out.Phases[0].Epochs = n
		return out
	}
	total := r.Epochs()
	left := n
	for i := range out.Phases {
		if i == len(out.Phases)-1 {
			out.Phases[i].Epochs = left
			break
		}
		e := (r.Phases[i].Epochs*n + total/2) / total
		if rest := len(out.Phases) - 1 - i; e > left-rest {
			e = left - rest // leave one epoch for each later phase
		}
		e = max(e, 1)
		e = min(e, left)
		out.Phases[i].Epochs = e
		left -= e
	}
	// Drop phases left with no epochs.
	kept := out.Phases[:0]
	for _, p := range out.Phases {
		if p.Epochs > 0 {
			kept = append(kept, p)
		}
	}
	out.Phases = kept
	return out
}

// String is a one-line human summary, e.g. "35 ep, batch 256, Adam lr 0.001".
func (r Recipe) String() string {
	parts := make([]string, len(r.Phases))
	for i, p := range r.Phases {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; then ")
}

func (p Phase) String() string { return fmt.Sprintf("%d ep, %s", p.Epochs, p.Settings()) }

// Settings is the phase without its length, e.g. "batch 256, Adam lr 0.001".
func (p Phase) Settings() string {
	opt := fmt.Sprintf("Adam lr %g", p.LR)
	if p.Optimizer == "sgd" {
		opt = fmt.Sprintf("SGD lr %g", p.LR)
		if p.Momentum != 0 {
			opt += fmt.Sprintf(" momentum %g", p.Momentum)
		}
		if p.Nesterov {
			opt += " Nesterov"
		}
		if p.Decay != 0 {
			opt += fmt.Sprintf(" decay %g", p.Decay)
		}
	}
	return fmt.Sprintf("batch %d, %s", p.Batch, opt)
}
