package tui

// The Focus view's section on a run's best model (results.BestEval, which
// the hub computes): its accuracy, confusion heatmap and per-class bars,
// and a row of its most confident mistakes (or, toggled with the key
// table's Correct, an image it gets right of each class) in half blocks.

import (
	"fmt"
	"strings"

	"fmnist/results"
	"fmnist/trainer"
)

// Sizes of the section's images: a 28x28 image is 28 cells by 14 lines,
// scaled to 14x14 (14 cells by 7 lines) when fewer than fullImagesMin fit
// side by side.
const (
	imageGap      = 2
	fullImagesMin = 4
)

// evalSection is the section on run r's best model, one string per line
// (nil when there is nothing to say: no epoch finished, or nobody to ask
// for an evaluation). It is cached until the evaluation, the run's best
// epoch, the width or the toggle change.
func (v *focusView) evalSection(r *runState) []string {
	c := v.c
	e := c.evals[r.ID]
	if r.BestEpoch == 0 && e == nil {
		return nil
	}
	key := fmt.Sprintf("%s %p %d %d %v", r.ID, e, r.BestEpoch, c.width, v.correct)
	if key != v.evalKey {
		v.evalKey, v.evalLines = key, v.renderEval(r, e)
	}
	return v.evalLines
}

// renderEval draws the section for run r and its evaluation e (nil: none
// yet).
func (v *focusView) renderEval(r *runState, e *results.BestEval) []string {
	c, st := v.c, v.c.styles
	w := c.width
	switch {
	case e == nil && !c.canEval:
		return nil
	case e == nil:
		return []string{truncate(st.Bold.Render(fmt.Sprintf("best model (epoch %d)", r.BestEpoch))+"  "+
			st.Dim.Render("evaluating the best model…"), w)}
	case e.Err != "":
		return []string{truncate(st.Bold.Render("best model")+"  "+st.Bad.Render(strings.Join(strings.Fields(e.Err), " ")), w)}
	case e.Note != "":
		return []string{truncate(st.Bold.Render("best model")+"  "+st.Dim.Render(e.Note), w)}
	}
	head := st.Bold.Render(fmt.Sprintf("best model (epoch %d): %s on %s test images", e.Epoch, results.Percent(e.Accuracy()), thousands(float64(e.N))))
	if r.BestEpoch > e.Epoch {
		head += st.Dim.Render(fmt.Sprintf(" · evaluating epoch %d…", r.BestEpoch))
	}
	out := []string{truncate(head, w), ""}

	// The heatmap and the bars, side by side when wide enough.
	prof := st.Profile
	heatTitle := st.Dim.Render("confusion matrix: rows true class, columns predicted")
	barsTitle := st.Dim.Render("accuracy per class")
	if w >= 120 {
		hw := min(82, w-2-44)
		heat := Heatmap(e.Confusion, e.Classes, prof, hw)
		hw = 0
		for _, l := range heat {
			hw = max(hw, cellWidth(l))
		}
		bars := ClassBars(e.Confusion, e.Classes, prof, min(60, w-hw-2))
		out = append(out, truncate(heatTitle, hw))
		for i, l := range heat {
			right := ""
			if i == 0 {
				right = barsTitle
			} else if i-1 < len(bars) {
				right = bars[i-1]
			}
			out = append(out, padRight(l, hw)+"  "+right)
		}
	} else {
		out = append(out, truncate(heatTitle, w))
		out = append(out, Heatmap(e.Confusion, e.Classes, prof, min(w, 82))...)
		out = append(out, "", barsTitle)
		out = append(out, ClassBars(e.Confusion, e.Classes, prof, min(w, 60))...)
	}
	out = append(out, "")

	// The images.
	side := trainer.ImageSize
	if (w+imageGap)/(side+imageGap) < fullImagesMin {
		side /= 2
	}
	perRow := max(1, (w+imageGap)/(side+imageGap))
	toggle := hintLabel(c.keys.Correct)
	if v.correct {
		var first []results.Example // the first of each class
		for _, x := range e.Right {
			if len(first) == 0 || first[len(first)-1].True != x.True {
				first = append(first, x)
			}
		}
		out = append(out, truncate(st.Bold.Render("correct examples")+st.Dim.Render(" (the first of each class) · "+toggle+": mistakes"), w))
		if len(first) == 0 {
			return append(out, st.Dim.Render("  none"))
		}
		for i := 0; i < len(first); i += perRow {
			if i > 0 {
				out = append(out, "")
			}
			out = append(out, v.imageRow(e, first[i:min(i+perRow, len(first))], side)...)
		}
		return out
	}
	wrong := e.N - e.Correct
	k := min(perRow, len(e.Mistakes))
	out = append(out, truncate(st.Bold.Render("most confident mistakes")+
		st.Dim.Render(fmt.Sprintf(" (%d of %s) · %s: correct examples", k, thousands(float64(wrong)), toggle)), w))
	if k == 0 {
		return append(out, st.Dim.Render("  none"))
	}
	return append(out, v.imageRow(e, e.Mistakes[:k], side)...)
}

// imageRow draws examples side by side, side cells wide each, with their
// captions under them ("Shirt → T-shirt/top 97%", or the class and
// probability of a correct answer), wrapped to the image's width between
// class names.
func (v *focusView) imageRow(e *results.BestEval, xs []results.Example, side int) []string {
	prof := v.c.styles.Profile
	name := func(c int) string {
		if c >= 0 && c < len(e.Classes) {
			return e.Classes[c]
		}
		return fmt.Sprint(c)
	}
	images := make([][]string, len(xs))
	captions := make([][]string, len(xs))
	lines := 0
	for i, x := range xs {
		g := Gray{W: trainer.ImageSize, H: trainer.ImageSize, Pix: make([]float32, len(x.Pixels))}
		for p, b := range x.Pixels {
			g.Pix[p] = float32(b) / 255
		}
		if side != trainer.ImageSize {
			g = ScaleGray(g, side, side)
		}
		images[i] = HalfBlocks(g, prof)
		prob := fmt.Sprintf("%.0f%%", x.Prob*100)
		if x.True == x.Pred {
			captions[i] = wrapTokens(side, name(x.True), prob)
		} else {
			captions[i] = wrapTokens(side, name(x.True)+" →", name(x.Pred), prob)
		}
		lines = max(lines, len(captions[i]))
	}
	sep := strings.Repeat(" ", imageGap)
	var out []string
	for y := range (side + 1) / 2 {
		row := make([]string, len(xs))
		for i := range images {
			row[i] = padRight(images[i][y], side)
		}
		out = append(out, strings.Join(row, sep))
	}
	for y := range lines {
		row := make([]string, len(xs))
		for i := range captions {
			l := ""
			if y < len(captions[i]) {
				l = captions[i][y]
			}
			row[i] = padRight(l, side)
		}
		out = append(out, strings.TrimRight(strings.Join(row, sep), " "))
	}
	return out
}

// wrapTokens joins tokens with spaces into lines of at most w cells,
// breaking only between tokens (a token longer than a line is cut).
func wrapTokens(w int, tokens ...string) []string {
	var lines []string
	cur := ""
	for _, tok := range tokens {
		switch {
		case cur == "":
			cur = tok
		case cellWidth(cur)+1+cellWidth(tok) <= w:
			cur += " " + tok
		default:
			lines = append(lines, truncate(cur, w))
			cur = tok
		}
	}
	if cur != "" {
		lines = append(lines, truncate(cur, w))
	}
	return lines
}
