package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"fmnist/trainer"
)

// compareView overlays the per-epoch curves of several runs, accuracy on
// one chart and loss on another, one colour (and, without colour, one line
// pattern) and label per run, with a legend below: the runs marked with
// the Mark key, or, none marked, the best run of each model.
type compareView struct {
	c     *common
	train bool // the train curves instead of the test ones

	// The charts last rendered, and what they showed: the compared runs'
	// IDs and versions, the curves and the sizes.
	chartsKey string
	charts    [2]string
}

// markGlyph marks a run marked to compare, in the Table and Runs views.
const markGlyph = "●"

// Fewest lines of a chart: the legend folds before charts shrink below.
const compareMinChart = 10

func newCompareView(c *common) *compareView { return &compareView{c: c} }

func (v *compareView) update(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, v.c.keys.TrainCurves) {
		v.train = !v.train
	}
	return nil
}

// compared are the runs shown and whether they are the marked ones, in the
// order marked; else (none marked, or none of them still there) the best
// run of each model with at least one epoch, the best first.
func (v *compareView) compared() (runs []*runState, marked bool) {
	for _, id := range v.c.marks {
		if r := v.c.store.get(id); r != nil {
			runs = append(runs, r)
		}
	}
	if len(runs) > 0 {
		return runs, true
	}
	best := map[string]*runState{}
	for _, r := range v.c.store.list() {
		if r.done() == 0 {
			continue
		}
		b := best[r.Model]
		if b == nil {
			runs = append(runs, r)
		}
		if b == nil || r.BestTestAcc > b.BestTestAcc {
			best[r.Model] = r
		}
	}
	for i, r := range runs {
		runs[i] = best[r.Model]
	}
	slices.SortStableFunc(runs, func(a, b *runState) int { return cmp.Compare(b.BestTestAcc, a.BestTestAcc) })
	return runs, false
}

func (v *compareView) view() string {
	c, st, k := v.c, v.c.styles, v.c.keys
	w, h := c.width, c.bodyHeight()
	runs, marked := v.compared()
	if len(runs) == 0 {
		msg := "Nothing to compare yet: no run has finished an epoch.\n\n" +
			"Mark runs with " + hintLabel(k.Mark) + " in the Runs or Table view."
		return center(st.Dim.Render(msg), w, h)
	}
	which := "test"
	if v.train {
		which = "train"
	}
	title := st.Bold.Render(plural(len(runs), "marked run"))
	if !marked {
		title = st.Bold.Render("best run of each model") + st.Dim.Render(" (mark runs with "+hintLabel(k.Mark)+")")
	}
	out := []string{spread(title, st.Dim.Render(which+" curves"), w)}

	// The legend gets the lines it needs, as long as the charts keep
	// compareMinChart lines; side by side, the charts take one line for
	// their titles and one blank line below them.
	entries := v.legend(runs, w)
	cols, lines := legendGrid(entries, w)
	legendLines := min(lines, max(1, h-3-compareMinChart))
	// Stacked (one above the other) when the screen is narrow and tall
	// enough for two charts of 12 lines.
	stacked := w < 120 && (h-4-legendLines)/2 >= 12
	var cw, ch [2]int
	if stacked {
		ch[0] = (h - 4 - legendLines) / 2
		ch[1] = h - 4 - legendLines - ch[0]
		cw = [2]int{w, w}
	} else {
		ch = [2]int{h - 3 - legendLines, h - 3 - legendLines}
		cw[0] = (w - 2) / 2
		cw[1] = w - cw[0] - 2
	}
	acc, loss := v.render(runs, cw, ch)
	accTitle := st.Bold.Render(which+" accuracy") + st.Dim.Render(" %")
	lossTitle := st.Bold.Render(which + " loss")
	if stacked {
		out = append(out, accTitle, fit(acc, cw[0], ch[0]), lossTitle, fit(loss, cw[1], ch[1]))
	} else {
		out = append(out, padRight(accTitle, cw[0])+"  "+lossTitle)
		out = append(out, lipgloss.JoinHorizontal(lipgloss.Top, fit(acc, cw[0], ch[0]), "  ", fit(loss, cw[1], ch[1])))
	}
	out = append(out, "")
	out = append(out, layoutLegend(st, entries, cols, legendLines, w)...)
	return fit(strings.Join(out, "\n"), w, h)
}

// render draws the accuracy and loss charts of runs in sizes cw x ch,
// again only when the runs' epochs, the curves or the sizes changed.
func (v *compareView) render(runs []*runState, cw, ch [2]int) (acc, loss string) {
	st := v.c.styles
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = fmt.Sprintf("%s@%d", r.ID, r.version)
	}
	key := fmt.Sprintf("%v %v %v %s", v.train, cw, ch, strings.Join(ids, " "))
	if key == v.chartsKey {
		return v.charts[0], v.charts[1]
	}
	for j, kind := range []chartKind{chartAcc, chartLoss} {
		curves := make([]curve, len(runs))
		for i, r := range runs {
			train, test := series(r, kind)
			vals := test
			if v.train {
				vals = train
			}
			style, label, p := st.runStyle(i)
			curves[i] = curve{vals: vals, style: style, pattern: p, label: label}
		}
		v.charts[j] = renderMulti(st, kind, curves, cw[j], ch[j])
	}
	v.chartsKey = key
	return v.charts[0], v.charts[1]
}

// legend is one entry per run, all as wide: its sample (runKey), model,
// run ID without the model's name (cut to fit w), best test accuracy and
// its epoch, and the status of a run not done.
func (v *compareView) legend(runs []*runState, w int) []string {
	st := v.c.styles
	mw, nw, iw, bw := 0, 0, 0, 0
	ids, notes, bests, stats := make([]string, len(runs)), make([]string, len(runs)), make([]string, len(runs)), make([]string, len(runs))
	for i, r := range runs {
		ids[i], notes[i] = shortRunID(r), r.RecipeNote()
		nw = max(nw, cellWidth(notes[i]))
		bests[i] = "no epoch yet"
		if r.done() > 0 {
			bests[i] = fmt.Sprintf("best %s%% (epoch %d)", pct(r.BestTestAcc), r.BestEpoch)
		}
		if r.Status != trainer.StatusDone {
			stats[i] = "  " + st.StatusStyle(r.Status).Render(r.Status)
		}
		mw, iw, bw = max(mw, cellWidth(r.Model)), max(iw, cellWidth(ids[i])), max(bw, cellWidth(bests[i]))
	}
	sw := 0
	for _, s := range stats {
		sw = max(sw, cellWidth(s))
	}
	// Runs of other recipes than the seed's name theirs after the model.
	if nw > 0 {
		nw += 2
	}
	// The run IDs give way first, down to 8 cells.
	if fixed := 4 + 1 + mw + nw + 2 + 2 + bw + sw; fixed+iw > w {
		iw = max(8, w-fixed)
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		note := ""
		if nw > 0 {
			note = "  " + padRight(notes[i], nw-2)
		}
		out[i] = st.runKey(i) + " " + padRight(r.Model, mw) + note + "  " + st.Dim.Render(padRight(ids[i], iw)) + "  " +
			padRight(bests[i], bw) + padRight(stats[i], sw)
	}
	return out
}

// shortRunID is r's ID without the model's name that starts it.
func shortRunID(r *runState) string {
	if s, ok := strings.CutPrefix(r.ID, r.Model+"-"); ok && s != "" {
		return s
	}
	return r.ID
}

// legendGrid is how entries lay out in w cells: cols entries a line, in
// lines lines.
func legendGrid(entries []string, w int) (cols, lines int) {
	ew := 0
	for _, e := range entries {
		ew = max(ew, cellWidth(e))
	}
	cols = max(1, min(len(entries), (w+3)/(ew+3)))
	return cols, (len(entries) + cols - 1) / cols
}

// layoutLegend lays entries out cols a line (three cells apart), in at most
// maxLines lines; the last place says "+N more" when they do not all fit.
func layoutLegend(st *Styles, entries []string, cols, maxLines, w int) []string {
	if n := cols * maxLines; len(entries) > n {
		more := len(entries) - (n - 1)
		entries = append(entries[:n-1:n-1], st.Dim.Render(fmt.Sprintf("+%d more", more)))
	}
	colW := (w - 3*(cols-1)) / cols
	var out []string
	for i := 0; i < len(entries); i += cols {
		var line []string
		for _, e := range entries[i:min(i+cols, len(entries))] {
			line = append(line, padRight(e, colW))
		}
		out = append(out, truncate(strings.Join(line, "   "), w))
	}
	return out
}
