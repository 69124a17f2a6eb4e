package tui

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"fmnist/results"
	"fmnist/trainer"
)

// minModelWidth is the narrowest the model column of epoch lines gets.
const minModelWidth = 15

// Plain prints training events as plain lines, for logs and terminals without
// a dashboard. It keeps a little state per run (model name, epochs, best test
// accuracy) from the events themselves. Handle and Summary may be called from
// several goroutines; lines are never interleaved. Write errors are ignored.
type Plain struct {
	mu    sync.Mutex
	w     io.Writer
	width int // model column width: longest model name seen, at least 15
	runs  map[string]*plainRun
}

type plainRun struct {
	done    int     // epochs finished in this process
	seconds float64 // their training plus evaluation
	// rec is the run's record, folded from the same events as the
	// runs directory's (results.Run.Apply): its model, planned epochs,
	// validation images and best epoch.
	rec results.Run
}

// NewPlain returns a Plain printer writing to w.
func NewPlain(w io.Writer) *Plain {
	return &Plain{w: w, width: minModelWidth, runs: map[string]*plainRun{}}
}

func (p *Plain) run(id string) *plainRun {
	r := p.runs[id]
	if r == nil {
		r = &plainRun{rec: results.Run{ID: id}}
		p.runs[id] = r
	}
	return r
}

// widen makes the model column fit model.
func (p *Plain) widen(model string) {
	if n := len([]rune(model)); n > p.width {
		p.width = n
	}
}

func (p *Plain) printf(format string, args ...any) {
	fmt.Fprintf(p.w, format, args...)
}

// Handle prints one line for RunStarted, EpochEnd and RunFinished events;
// RunQueued and BatchProgress print nothing. An epoch's line has its
// validation accuracy when the run holds some out, and the time the run's
// remaining epochs will take at this process's pace so far; the last line
// gives the best epoch as the run's record chooses it (validation, a
// detection model's validation scenes, or test) and says which.
func (p *Plain) Handle(ev trainer.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case trainer.RunQueued:
		p.run(e.ID).rec.Apply(e)
		p.widen(e.Model)
	case trainer.RunStarted:
		p.run(e.ID).rec.Apply(e)
		p.widen(e.Model)
		// "35 epochs, batch 256, Adam lr 0.001", or for several phases
		// "40 epochs: 10 ep, batch 256, ...; then 30 ep, batch 1024, ...";
		// another recipe than the seed's is named, with what it adds:
		// "improved+lr0.004 recipe, 35 epochs, batch 256, Adam lr 0.004,
		// cosine lr (warm-up 1 ep), ..., flips".
		epochs := plural(e.Epochs, "epoch")
		recipe := fmt.Sprintf("%s: %s", epochs, e.Recipe)
		if ph := e.Recipe.Phases; len(ph) == 1 && ph[0].Epochs == e.Epochs {
			recipe = fmt.Sprintf("%s, %s", epochs, ph[0].Settings())
			if x := e.Recipe.Extras(); x != "" {
				recipe += ", " + x
			}
		}
		if l := e.Recipe.Label(); l != "seed" {
			recipe = l + " recipe, " + recipe
		}
		sizes := fmt.Sprintf("train %d / test %d", e.TrainSize, e.TestSize)
		if e.ValSize > 0 {
			sizes = fmt.Sprintf("train %d / val %d / test %d", e.TrainSize, e.ValSize, e.TestSize)
		}
		p.printf("start  %s (run %s) params %s, %s, %s\n",
			p.name(e.ID), e.ID, results.Thousands(e.Params), recipe, sizes)
	case trainer.EpochEnd:
		r := p.run(e.ID)
		r.rec.Apply(e)
		s, planned := e.Stats, r.rec.EpochsPlanned
		r.done++
		r.seconds += s.TrainSeconds + s.EvalSeconds
		val := ""
		if r.rec.ValSize > 0 {
			val = "  val acc " + results.Percent(s.ValAcc)
		}
		eta := ""
		if left := planned - s.Epoch; left > 0 && r.seconds > 0 {
			eta = "  eta " + duration(float64(left)*r.seconds/float64(r.done))
		}
		shared := ""
		if s.Concurrent > 1 {
			shared = fmt.Sprintf(" (%d runs at once)", s.Concurrent)
		}
		ew := len(fmt.Sprint(planned))
		p.printf("       %-*s epoch %*d/%d  train loss %.4f acc %6s  test loss %.4f acc %6s%s  %6.1fs +%.1fs eval%s%s\n",
			p.width, p.name(e.ID), ew, s.Epoch, planned,
			s.TrainLoss, results.Percent(s.TrainAcc), s.TestLoss, results.Percent(s.TestAcc), val,
			s.TrainSeconds, s.EvalSeconds, shared, eta)
	case trainer.RunFinished:
		r := p.run(e.ID)
		name := p.name(e.ID)
		switch e.Status {
		case trainer.StatusFailed:
			msg := strings.Join(strings.Fields(e.Err), " ")
			if msg == "" {
				msg = "unknown error"
			}
			p.printf("failed %s: %s\n", name, msg)
		case trainer.StatusCancelled:
			p.printf("cancelled %s after %s\n", name, plural(r.done, "epoch"))
		default:
			// A resumed run's record holds the epochs of its earlier
			// processes too: the line counts them all and says how many
			// this process trained.
			var epochs string
			switch total := len(r.rec.Epochs); {
			case total == 0:
				p.printf("done   %s (run %s) after 0 epochs, no test accuracy\n", name, e.ID)
			case r.done == 0:
				epochs = plural(total, "epoch") + " (none in this process)"
			case total > r.done:
				epochs = fmt.Sprintf("%s (%d in this process, %.1f min)", plural(total, "epoch"), r.done, r.seconds/60)
			default:
				epochs = fmt.Sprintf("%s in %.1f min", plural(r.done, "epoch"), r.seconds/60)
			}
			if epochs != "" {
				p.printf("done   %s (run %s) %s, best %s (epoch %d, chosen on %s)\n",
					name, e.ID, epochs, results.Percent(r.rec.BestTestAcc), r.rec.BestEpoch,
					chosenOn[r.rec.ChosenOn()])
			}
		}
		delete(p.runs, e.ID)
	}
}

// chosenOn names what results.Run.ChosenOn returns.
var chosenOn = map[string]string{"val": "validation", "scenes": "validation scenes", "test": "test"}

// name is the model of run id, or the id itself if the model is unknown.
func (p *Plain) name(id string) string {
	if r := p.runs[id]; r != nil && r.rec.Model != "" {
		return r.rec.Model
	}
	return id
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Summary prints a blank line and then a Markdown comparison table of runs
// and, when a model was trained more than once the same way (--seeds), the
// grouped table (mean ± sd over the seeds).
func (p *Plain) Summary(runs []*results.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printf("\n")
	results.WriteTable(p.w, results.Rows(runs), "md")
	gs := results.Groups(runs)
	for _, g := range gs {
		if g.N() > 1 {
			p.printf("\n")
			results.WriteGroups(p.w, gs, "md")
			return
		}
	}
}
