package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"fmnist/results"
	"fmnist/trainer"
)

// focusView shows one run full screen: large charts, its best model's
// evaluation (evalview.go), the per-epoch history, the recipe and the
// layers. It scrolls (a bubbles viewport) when that is taller than the
// screen.
type focusView struct {
	c *common
	// vp holds the page and how far it is scrolled. Its own key map is not
	// used: update scrolls it on the key table's keys.
	vp     viewport.Model
	models map[string]ModelInfo
	// band shows, for a run trained with several seeds, its group's mean
	// curves with ± one standard deviation instead of the run's own.
	band bool
	// correct shows the best model's correct examples instead of its
	// mistakes; evalKey and evalLines cache the section (evalSection).
	correct   bool
	evalKey   string
	evalLines []string
}

// groupBand is the per-epoch mean and standard deviation of the test
// accuracy (percent) and loss of the runs grouped with r (same model,
// recipe and data), over the epochs all of them have; n is the number of
// runs, 0 when r has no group of two or more or the band is not shown (it
// is not worked out on every frame for nothing).
func (v *focusView) groupBand(r *runState) (n int, acc, accSD, loss, lossSD []float64) {
	if !v.band {
		return 0, nil, nil, nil, nil
	}
	list := v.c.store.list()
	recs := records(list)
	var ids []string
	for _, g := range results.Groups(recs) {
		if slices.Contains(g.IDs, r.ID) {
			ids = g.IDs
		}
	}
	var runs []*results.Run
	for _, rec := range recs {
		if slices.Contains(ids, rec.ID) && len(rec.Epochs) > 0 {
			runs = append(runs, rec)
		}
	}
	if len(runs) < 2 {
		return 0, nil, nil, nil, nil
	}
	common := len(runs[0].Epochs)
	for _, x := range runs {
		common = min(common, len(x.Epochs))
	}
	for e := range common {
		var a, l []float64
		for _, x := range runs {
			a = append(a, x.Epochs[e].TestAcc*100)
			l = append(l, x.Epochs[e].TestLoss)
		}
		sa, sl := results.NewStat(a), results.NewStat(l)
		acc, accSD = append(acc, sa.Mean), append(accSD, sa.SD)
		loss, lossSD = append(loss, sl.Mean), append(lossSD, sl.SD)
	}
	return len(runs), acc, accSD, loss, lossSD
}

func newFocusView(c *common) *focusView {
	return &focusView{c: c, vp: viewport.New(0, 0), models: map[string]ModelInfo{}}
}

func (v *focusView) update(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys
	switch {
	case key.Matches(msg, k.Group):
		v.band = !v.band
		return nil
	case key.Matches(msg, k.Correct):
		v.correct = !v.correct
		return nil
	case key.Matches(msg, k.Left):
		v.c.selectIndex(v.c.selectedIndex() - 1)
		v.sync()
		v.vp.GotoTop()
		return nil
	case key.Matches(msg, k.Right):
		v.c.selectIndex(v.c.selectedIndex() + 1)
		v.sync()
		v.vp.GotoTop()
		return nil
	}
	v.sync()
	page := max(1, v.c.bodyHeight()-1) // a page less a line, to keep one line in view
	switch {
	case key.Matches(msg, k.Up):
		v.vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		v.vp.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		v.vp.ScrollUp(page)
	case key.Matches(msg, k.PageDown):
		v.vp.ScrollDown(page)
	case key.Matches(msg, k.Top):
		v.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		v.vp.GotoBottom()
	}
	return nil
}

// sync sizes the viewport to the body and gives it the selected run's page,
// every line exactly as wide as the screen; it keeps the scroll position
// within the page.
func (v *focusView) sync() {
	c := v.c
	v.vp.Width, v.vp.Height = c.width, c.bodyHeight()
	r := c.selectedRun()
	if r == nil {
		v.vp.SetContent("")
		v.vp.GotoTop()
		return
	}
	lines := v.content(r)
	for i, l := range lines {
		lines[i] = padRight(l, c.width)
	}
	v.vp.SetContent(strings.Join(lines, "\n"))
	v.vp.SetYOffset(v.vp.YOffset)
}

// scroll is the first line of the page in view, from 0.
func (v *focusView) scroll() int { return v.vp.YOffset }

// top scrolls back to the top of the page.
func (v *focusView) top() { v.vp.SetYOffset(0) }

// position tells how far the view is scrolled, for the footer.
func (v *focusView) position() string {
	h, n := v.c.bodyHeight(), v.vp.TotalLineCount()
	if n <= h {
		return ""
	}
	return fmt.Sprintf("lines %d-%d/%d", v.scroll()+1, min(n, v.scroll()+h), n)
}

func (v *focusView) view() string {
	c := v.c
	w, h := c.width, c.bodyHeight()
	v.sync()
	if c.selectedRun() == nil {
		return center(c.styles.Dim.Render("No run selected. Choose one in the Runs or Table view."), w, h)
	}
	return v.vp.View()
}

// content is the whole Focus page of run r, one string per screen line.
func (v *focusView) content(r *runState) []string {
	c, st := v.c, v.c.styles
	w, h := c.width, c.bodyHeight()
	info, hasInfo := v.models[r.Model]
	var out []string
	add := func(s string) { out = append(out, strings.Split(s, "\n")...) }

	// Model, run ID, arch title, start and end, status: as much as fits.
	left := st.Bold.Render(r.Model) + "  " + st.Dim.Render(r.ID)
	badge := st.Badge(r.Status)
	right := badge
	if !r.StartedAt.IsZero() {
		when := "started " + r.StartedAt.Local().Format("01-02 15:04")
		if r.FinishedAt != nil {
			when += ", ended " + r.FinishedAt.Local().Format("15:04")
		}
		if t := st.Dim.Render(when) + "  " + badge; cellWidth(left)+2+cellWidth(t) <= w {
			right = t
		}
	}
	if hasInfo && info.Title != "" && info.Title != r.Model {
		if t := left + st.Dim.Render(" · "+info.Title); cellWidth(t)+2+cellWidth(right) <= w {
			left = t
		}
	}
	add(spread(left, right, w))

	facts := []string{epochLine(r)}
	params := r.Params
	if params == 0 && hasInfo {
		params = info.Params
	}
	if params > 0 {
		facts = append(facts, results.Thousands(params)+" params")
	}
	if r.TrainSize > 0 {
		facts = append(facts, fmt.Sprintf("%s train / %s test images", results.Thousands(r.TrainSize), results.Thousands(r.TestSize)))
		facts = append(facts, fmt.Sprintf("seed %d", r.Seed))
	}
	add(fitParts(strings.Join(facts, " · "), w))

	recipe := r.Recipe.String()
	if len(r.Recipe.Phases) == 0 && hasInfo {
		recipe = info.Recipe
	}
	if recipe == "" {
		recipe = "—"
	}
	// Its name first (improved+noflip): what sets it apart from its
	// siblings survives a narrow screen.
	if k := r.RecipeKind(); k != "" && len(r.Recipe.Phases) > 0 {
		recipe = k + ": " + recipe
	}
	// Two lines at most: the improved recipe's extras do not fit 80 columns.
	for i, l := range wrapLines("recipe "+recipe, w, 2) {
		if i == 0 {
			l = st.Dim.Render("recipe") + strings.TrimPrefix(l, "recipe")
		}
		add(truncate(l, w))
	}

	bw := min(w/2, 50)
	act := activity(r)
	if r.Status == trainer.StatusFailed {
		act = st.Bad.Render(act)
	}
	add(progressBar(st, barFraction(r), bw) + "  " + truncate(act, w-bw-2))
	add("")

	// Charts side by side: the run's, or its group's mean ± sd.
	cw := (w - 2) / 2
	chh := max(8, (h-6)/2)
	if n, acc, accSD, loss, lossSD := v.groupBand(r); n >= 2 {
		bandLegend := func(title string, mean, sd []float64, f string, w int) string {
			m, d := mean[len(mean)-1], sd[len(sd)-1]
			long := fmt.Sprintf("%s %s mean of %d seeds "+f+"  %s ± sd "+f, st.Bold.Render(title), st.legendKey(false), n, m, st.legendKey(true), d)
			if cellWidth(long) <= w {
				return long
			}
			// Narrow: the spread before the words.
			return truncate(fmt.Sprintf("%s %s mean "+f+" %s ± "+f+" n=%d", st.Bold.Render(title), st.legendKey(false), m, st.legendKey(true), d, n), w)
		}
		add(padRight(bandLegend("test acc", acc, accSD, "%.2f%%", cw), cw) + "  " + bandLegend("test loss", loss, lossSD, "%.4f", w-cw-2))
		add(lipgloss.JoinHorizontal(lipgloss.Top, fit(renderBand(st, chartAcc, acc, accSD, cw, chh), cw, chh), "  ",
			fit(renderBand(st, chartLoss, loss, lossSD, w-cw-2, chh), w-cw-2, chh)))
	} else {
		add(padRight(legend(st, chartAcc, r, cw), cw) + "  " + legend(st, chartLoss, r, w-cw-2))
		add(lipgloss.JoinHorizontal(lipgloss.Top, fit(r.chart(st, chartAcc, cw, chh), cw, chh), "  ",
			fit(r.chart(st, chartLoss, w-cw-2, chh), w-cw-2, chh)))
	}
	add("")
	if sec := v.evalSection(r); len(sec) > 0 {
		out = append(out, sec...)
		add("")
	}

	hist := v.history(r)
	layers := v.layers(r, info, hasInfo)
	histW := 0
	for _, l := range hist {
		histW = max(histW, cellWidth(l))
	}
	if w >= histW+4+60 {
		lw := w - histW - 4
		for i := range layers {
			layers[i] = truncate(layers[i], lw)
		}
		left := fit(strings.Join(hist, "\n"), histW, max(len(hist), len(layers)))
		right := strings.Join(layers, "\n")
		add(lipgloss.JoinHorizontal(lipgloss.Top, left, "    ", right))
	} else {
		for _, l := range hist {
			add(truncate(l, w))
		}
		add("")
		for _, l := range layers {
			add(truncate(l, w))
		}
	}
	return out
}

// history is the per-epoch table of run r, the epoch in training last.
func (v *focusView) history(r *runState) []string {
	st := v.c.styles
	val := r.ValSize > 0
	head := fmt.Sprintf("%5s  %10s  %9s  %9s  %9s  %7s  %6s", "Epoch", "Train loss", "Train acc", "Test loss", "Test acc", "Train s", "Eval s")
	if val {
		head = fmt.Sprintf("%5s  %10s  %9s  %9s  %9s  %9s  %7s  %6s", "Epoch", "Train loss", "Train acc", "Val acc", "Test loss", "Test acc", "Train s", "Eval s")
	}
	out := []string{st.Header.Render(head)}
	if len(r.Epochs) == 0 && r.Progress == nil {
		out = append(out, st.Dim.Render("  no epoch finished yet"))
	}
	for _, e := range r.Epochs {
		mark := " "
		if e.Epoch == r.BestEpoch {
			mark = "*"
		}
		line := fmt.Sprintf("%5d  %10.4f  %8s%%  %9.4f  %8s%%%s %7.1f  %6.1f", e.Epoch, e.TrainLoss, pct(e.TrainAcc),
			e.TestLoss, pct(e.TestAcc), mark, e.TrainSeconds, e.EvalSeconds)
		if val {
			line = fmt.Sprintf("%5d  %10.4f  %8s%%  %8s%%  %9.4f  %8s%%%s %7.1f  %6.1f", e.Epoch, e.TrainLoss, pct(e.TrainAcc),
				pct(e.ValAcc), e.TestLoss, pct(e.TestAcc), mark, e.TrainSeconds, e.EvalSeconds)
		}
		if mark == "*" {
			line = st.Best.Render(line)
		}
		out = append(out, line)
	}
	if p := r.Progress; p != nil && r.Status == trainer.StatusRunning {
		doing := fmt.Sprintf("batch %d/%d", p.Batch, p.Batches)
		if p.Batch >= p.Batches {
			doing = "testing"
		}
		out = append(out, st.Dim.Render(fmt.Sprintf("%5d  %10.4f  %8s%%  %-20s", p.Epoch, p.Loss, pct(p.Acc), doing+" …")))
	}
	if r.BestEpoch > 0 {
		note := "* best test accuracy (the seed's way of choosing)"
		if val {
			note = fmt.Sprintf("* best epoch, chosen on validation accuracy (%s images held out)", results.Thousands(r.ValSize))
		}
		out = append(out, st.Dim.Render(note))
	}
	return out
}

// layers lists the architecture's layers, from the run or the model list.
func (v *focusView) layers(r *runState, info ModelInfo, hasInfo bool) []string {
	st := v.c.styles
	ls := r.Layers
	if len(ls) == 0 && hasInfo {
		ls = info.Layers
	}
	out := []string{st.Header.Render("Layers")}
	if len(ls) == 0 {
		return append(out, st.Dim.Render("  not known for this run"))
	}
	return append(out, ls...)
}
