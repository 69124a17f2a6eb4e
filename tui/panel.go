package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/progress"

	"fmnist/trainer"
)

// Panel sizes in the Runs view, borders included.
const (
	panelMinWidth  = 38
	panelMinHeight = 18
)

// progressBar renders a bar of w cells (percentage included) at fraction f.
func progressBar(st *Styles, f float64, w int) string {
	bar := progress.New(
		progress.WithWidth(w),
		progress.WithSolidFill(st.progressColour()),
		progress.WithFillCharacters('█', '░'),
		progress.WithColorProfile(st.Profile),
	)
	bar.EmptyColor = st.emptyColour()
	return bar.ViewAs(math.Max(0, math.Min(1, f)))
}

// epochLine is "epoch i/n" for a run, with the epoch in training if any.
func epochLine(r *runState) string {
	switch {
	case r.Status == trainer.StatusQueued:
		return "queued"
	case r.Progress != nil:
		return fmt.Sprintf("epoch %d/%d", r.Progress.Epoch, r.planned())
	case r.planned() == 0:
		return fmt.Sprintf("epoch %d", r.done())
	}
	return fmt.Sprintf("epoch %d/%d", r.done(), r.planned())
}

// barFraction is what the progress bar shows: the epoch in training for a
// running run, the whole run otherwise.
func barFraction(r *runState) float64 {
	if r.Status == trainer.StatusRunning && r.Owned {
		if r.Progress != nil {
			return r.epochFraction()
		}
		return 0
	}
	return r.runFraction()
}

// worker is the name of the cluster worker training (or that last trained)
// run r, without its machine; "" for runs of this process.
func worker(r *runState) string {
	if len(r.Workers) == 0 {
		return ""
	}
	w := r.Workers[len(r.Workers)-1]
	if i := strings.Index(w, " ("); i > 0 {
		w = w[:i]
	}
	return w
}

// activity is one line on what a run is doing or how it ended.
func activity(r *runState) string {
	switch r.Status {
	case trainer.StatusQueued:
		return "waiting for a free slot"
	case trainer.StatusRunning:
		if !r.Owned {
			return "running elsewhere (as on disk)"
		}
		if r.Progress == nil {
			if r.done() == 0 {
				return "starting"
			}
			return fmt.Sprintf("starting epoch %d", r.done()+1)
		}
		var parts []string
		if w := worker(r); w != "" {
			parts = append(parts, "on "+w)
		}
		if ips := r.imagesPerSec(); !math.IsNaN(ips) {
			parts = append(parts, thousands(ips)+" img/s")
		}
		if eta := r.eta(); !math.IsNaN(eta) {
			parts = append(parts, "ETA "+duration(eta))
		}
		if r.Progress.Batch >= r.Progress.Batches {
			parts = append(parts, "testing")
		} else {
			parts = append(parts, fmt.Sprintf("batch %d/%d", r.Progress.Batch, r.Progress.Batches))
		}
		return strings.Join(parts, " · ")
	case trainer.StatusDone:
		s := "done in " + duration(r.totalSeconds())
		if ips := r.imagesPerSec(); !math.IsNaN(ips) {
			s += " · " + thousands(ips) + " img/s"
		}
		if w := worker(r); w != "" {
			s += " · on " + w
		}
		return s
	case trainer.StatusFailed:
		msg := strings.Join(strings.Fields(r.Error), " ")
		if msg == "" {
			msg = "unknown error"
		}
		return "failed: " + msg
	case trainer.StatusCancelled:
		return fmt.Sprintf("cancelled after %s", plural(r.done(), "epoch"))
	}
	return r.Status
}

// chartHeights splits h lines between the accuracy and loss charts, each
// with its legend line above it.
func chartHeights(h int) (acc, loss int) {
	h -= 2
	return h - h/2, h / 2
}

// panel is renderPanel, redrawn only when something it shows changed:
// while runs train, only the panels of running runs change between frames.
func panel(c *common, r *runState, w, h int, selected bool) string {
	var p trainer.BatchProgress
	if r.Progress != nil {
		p = *r.Progress
	}
	key := fmt.Sprintf("%dx%d %v %v %d %s %v %v", w, h, selected, c.marked(r.ID), r.version, r.Status, r.Owned, p)
	if key != r.panelKey {
		r.panel, r.panelKey = renderPanel(c, r, w, h, selected), key
	}
	return r.panel
}

// renderPanel draws run r in a w x h box for the Runs view.
func renderPanel(c *common, r *runState, w, h int, selected bool) string {
	st := c.styles
	cw, ih := w-4, h-2 // inside the border and the one-cell padding
	var lines []string
	// The model, then what tells runs of it apart: a recipe other than the
	// seed's, and the seed (neither is known before the run starts; a run
	// cancelled in the queue never started).
	title := st.Bold.Render(r.Model)
	if !r.StartedAt.IsZero() {
		if n := r.RecipeNote(); n != "" {
			title += " " + n
		}
		title += st.Dim.Render(fmt.Sprintf(" seed %d", r.Seed))
	}
	if c.marked(r.ID) {
		title = markGlyph + " " + title
	}
	badge := st.Badge(r.Status)
	lines = append(lines, spread(truncate(title, cw-cellWidth(badge)-1), badge, cw))
	left := epochLine(r)
	if r.done() > 0 {
		left += fmt.Sprintf(" · best %s%% (%d)", pct(r.BestTestAcc), r.BestEpoch)
	}
	right := ""
	if !r.StartedAt.IsZero() {
		right = st.Dim.Render(r.StartedAt.Local().Format("01-02 15:04"))
	}
	if cellWidth(left)+1+cellWidth(right) > cw {
		right = ""
	}
	lines = append(lines, spread(left, right, cw))
	lines = append(lines, progressBar(st, barFraction(r), cw))
	act := activity(r)
	if r.Status == trainer.StatusFailed {
		act = st.Bad.Render(truncate(act, cw))
	}
	lines = append(lines, fitParts(act, cw))
	if rest := ih - len(lines); rest >= 8 {
		ah, lh := chartHeights(rest)
		lines = append(lines, legend(st, chartAcc, r, cw), r.chart(st, chartAcc, cw, ah))
		lines = append(lines, legend(st, chartLoss, r, cw), r.chart(st, chartLoss, cw, lh))
	}
	box := st.Panel
	if selected {
		box = st.PanelActive
	}
	return box.Padding(0, 1).Render(fit(strings.Join(lines, "\n"), cw, ih))
}

// fitParts keeps as many leading " · "-separated parts of s as fit in w.
func fitParts(s string, w int) string {
	if cellWidth(s) <= w {
		return s
	}
	parts := strings.Split(s, " · ")
	for n := len(parts) - 1; n > 0; n-- {
		if t := strings.Join(parts[:n], " · "); cellWidth(t) <= w {
			return t
		}
	}
	return truncate(s, w)
}
