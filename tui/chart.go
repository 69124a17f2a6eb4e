package tui

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	tslc "github.com/NimbleMarkets/ntcharts/linechart/timeserieslinechart"
	"github.com/charmbracelet/lipgloss"
)

// chartKind is which figure a chart plots.
type chartKind int

const (
	chartAcc chartKind = iota
	chartLoss
)

// Data set names: drawn in name order, so test (drawn last) wins the cells
// the two curves share.
const (
	dsTrain = "1-train"
	dsTest  = "2-test"
)

// series returns a run's per-epoch train and test values for kind
// (accuracies in percent).
func series(r *runState, kind chartKind) (train, test []float64) {
	for _, e := range r.Epochs {
		if kind == chartAcc {
			train = append(train, e.TrainAcc*100)
			test = append(test, e.TestAcc*100)
		} else {
			train = append(train, e.TrainLoss)
			test = append(test, e.TestLoss)
		}
	}
	return train, test
}

// chart is the run's chart of kind in w x h cells, rendered once per change
// of its epochs.
func (r *runState) chart(st *Styles, kind chartKind, w, h int) string {
	key := fmt.Sprintf("%d/%dx%d", kind, w, h)
	if s, ok := r.charts[key]; ok {
		return s
	}
	train, test := series(r, kind)
	s := renderChart(st, kind, train, test, w, h)
	if r.charts == nil {
		r.charts = map[string]string{}
	}
	r.charts[key] = s
	return s
}

// yRange picks the Y axis range: accuracy zooms to the data with a margin,
// within 0-100%; loss zooms to the data, from 0 at the lowest.
func yRange(kind chartKind, vals ...[]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, vs := range vals {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if kind == chartAcc {
		if lo > hi {
			return 0, 100
		}
		pad := math.Max((hi-lo)*0.1, 1)
		lo, hi = math.Max(0, math.Floor(lo-pad)), math.Min(100, math.Ceil(hi+pad))
		if hi-lo < 2 {
			lo, hi = math.Max(0, hi-2), math.Max(2, hi)
		}
		return lo, hi
	}
	if lo > hi {
		return 0, 1
	}
	pad := math.Max((hi-lo)*0.1, math.Max(hi*0.05, 0.01))
	lo, hi = math.Max(0, lo-pad), hi+pad
	lo, hi = math.Floor(lo*100+1e-9)/100, math.Ceil(hi*100-1e-9)/100
	if hi <= lo {
		hi = lo + 0.01
	}
	return lo, hi
}

// scaleRange is a chart's Y range: yRange of every value, but, as
// TensorBoard ignores outliers in its scaling, without the first epoch of
// curves of four or more epochs when those first epochs alone would make
// the range more than four times as tall (a first epoch at 7% below
// epochs at 88-94% would flatten them to a line; one at 80% stays). The
// charts draw such a value on their edge (clampTo).
func scaleRange(kind chartKind, vals ...[]float64) (lo, hi float64) {
	lo, hi = yRange(kind, vals...)
	rest := make([][]float64, len(vals))
	cut := false
	for i, vs := range vals {
		rest[i] = vs
		if len(vs) >= 4 {
			rest[i], cut = vs[1:], true
		}
	}
	if !cut {
		return lo, hi
	}
	if rl, rh := yRange(kind, rest...); hi-lo > 4*(rh-rl) {
		return rl, rh
	}
	return lo, hi
}

// clampTo is v held inside [lo, hi].
func clampTo(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// yFormat prints Y labels with as many decimals as the range needs.
func yFormat(kind chartKind, lo, hi float64) func(int, float64) string {
	span := hi - lo
	f := "%.2f"
	switch {
	case kind == chartAcc && span >= 10:
		f = "%.0f"
	case kind == chartAcc:
		f = "%.1f"
	case span >= 2:
		f = "%.1f"
	case span < 0.05:
		f = "%.3f"
	}
	return func(_ int, v float64) string { return fmt.Sprintf(f, v) }
}

// labelStep is the epoch interval between X labels so that labels of
// digits digits get a blank cell between them.
func labelStep(digits int, colsPerEpoch float64) int {
	need := float64(digits + 1)
	for _, k := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		if float64(k)*colsPerEpoch >= need {
			return k
		}
	}
	return 1000
}

// renderChart draws per-epoch train and test curves (epoch e at X = e) in a
// w x h box, Y axis labels included, X axis labelled with whole epochs.
func renderChart(st *Styles, kind chartKind, train, test []float64, w, h int) string {
	return renderCurves(st, kind, test, [][]float64{train}, !st.NoColor, w, h)
}

// renderBand draws a group's mean curve solid and mean ± sd dotted around it.
func renderBand(st *Styles, kind chartKind, mean, sd []float64, w, h int) string {
	lo, hi := make([]float64, len(mean)), make([]float64, len(mean))
	for i := range mean {
		lo[i], hi[i] = mean[i]-sd[i], mean[i]+sd[i]
	}
	return renderCurves(st, kind, mean, [][]float64{lo, hi}, false, w, h)
}

// renderCurves draws solid (the test colour) and the others (the train
// colour): as braille lines when colour tells them apart (colored), else
// dotted.
func renderCurves(st *Styles, kind chartKind, solid []float64, others [][]float64, colored bool, w, h int) string {
	n := len(solid)
	for _, o := range others {
		n = max(n, len(o))
	}
	lo, hi := scaleRange(kind, append([][]float64{solid}, others...)...)
	c := epochChart(st, kind, n, lo, hi, w, h,
		tslc.WithDataSetStyle(dsTrain, st.Train),
		tslc.WithDataSetStyle(dsTest, st.Test),
	)
	if n == 0 {
		return emptyChart(c, st)
	}
	push := func(name string, vs []float64) {
		for i, v := range vs {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				c.PushDataSet(name, tslc.TimePoint{Time: time.Unix(int64(i+1), 0), Value: clampTo(v, lo, hi)})
			}
		}
	}
	push(dsTest, solid)
	if colored && len(others) == 1 {
		push(dsTrain, others[0])
		c.DrawBrailleAll()
		return c.View()
	}
	// Without colour the curves can only differ in their line: test solid,
	// train (or the band's edges) dotted.
	c.DrawBrailleDataSets([]string{dsTest})
	for _, o := range others {
		drawLine(c, o, st.Train, dotted)
	}
	return c.View()
}

// epochChart is an empty chart of w x h cells for n epochs (epoch e at
// X = e) and Y from lo to hi, its axes labelled: whole epochs on X.
func epochChart(st *Styles, kind chartKind, n int, lo, hi float64, w, h int, opts ...tslc.Option) *tslc.Model {
	maxX := max(n, 1)
	ystep := 1
	if h-2 >= 8 {
		ystep = 2
	}
	c := new(tslc.Model)
	// Epoch e is plotted at X = e in an X range of [0.5, maxX+0.5], so that
	// the first and last points do not sit on the chart's edges. ntcharts
	// puts the label of graph column i-1 in column i (its column 0 is the
	// Y axis): label a column with the whole epoch whose point is drawn in
	// the graph column below it.
	xLabel := func(i int, v float64) string {
		gw, span := c.GraphWidth(), c.ViewMaxX()-c.ViewMinX()
		if gw <= 0 || span <= 0 || i == 0 || n == 0 {
			return ""
		}
		inc := span / float64(gw)
		from := v - inc // the value at the left edge of graph column i-1
		k := labelStep(len(strconv.Itoa(maxX)), 1/inc)
		// A column spans more than one epoch when there are more epochs
		// than columns: any of them may be the one to label.
		for e := math.Ceil(from - 1e-9); e < from+inc; e++ {
			if e < 1 || e > float64(maxX) {
				continue
			}
			if ie := int(e); ie == 1 || ie%k == 0 || (ie == maxX && float64(maxX%k)/inc >= float64(len(strconv.Itoa(maxX))+1)) {
				return strconv.Itoa(ie)
			}
		}
		return ""
	}
	*c = tslc.New(w, h, append([]tslc.Option{
		tslc.WithXLabelFormatter(xLabel),
		tslc.WithYLabelFormatter(yFormat(kind, lo, hi)),
		tslc.WithXYSteps(1, ystep),
		tslc.WithAxesStyles(st.Axis, st.AxisLabel),
	}, opts...)...)
	// A column and a half of room right of the last point, so that its
	// label (one column right of it) is drawn.
	xmax := float64(maxX) + 0.5 + 1.5*float64(maxX)/float64(max(1, w-8))
	c.Model.SetXRange(0.5, xmax)
	c.Model.SetViewXRange(0.5, xmax)
	c.SetYRange(lo, hi)
	c.SetViewYRange(lo, hi) // rescales
	c.AutoMinX, c.AutoMaxX, c.AutoMinY, c.AutoMaxY = false, false, false, false
	return c
}

// emptyChart draws c's axes with a note that there is nothing to plot yet.
func emptyChart(c *tslc.Model, st *Styles) string {
	c.Clear()
	c.DrawXYAxisAndLabel()
	msg := "no epoch yet"
	if gw := c.GraphWidth(); gw >= len(msg) {
		x := c.Origin().X + 1 + (gw-len(msg))/2
		c.Canvas.SetStringWithStyle(canvas.Point{X: x, Y: c.Origin().Y / 2}, msg, st.Dim)
	}
	return c.View()
}

// linePattern is how a curve is drawn: which of its braille dots are set.
type linePattern int

const (
	solid  linePattern = iota // every dot
	dashed                    // four dots on, two off
	dotted                    // every third dot
)

// on reports whether the k-th dot along a curve of pattern p is drawn.
func (p linePattern) on(k int) bool {
	switch p {
	case dashed:
		return k%6 < 4
	case dotted:
		return k%3 == 0
	}
	return true
}

// curve is one of the series of a chart of several: per-epoch values,
// drawn in style with pattern, and label drawn beside its latest point.
type curve struct {
	vals    []float64
	style   lipgloss.Style
	pattern linePattern
	label   string // one cell; "" for none
}

// renderMulti draws curves over one chart of w x h cells, with the axes of
// renderChart, each in its style and pattern, in order (later curves win
// the cells they share), then each label one cell right of its curve's
// latest point (or the nearest free cell about it).
func renderMulti(st *Styles, kind chartKind, curves []curve, w, h int) string {
	n := 0
	var vals [][]float64
	for _, cv := range curves {
		n = max(n, len(cv.vals))
		vals = append(vals, cv.vals)
	}
	lo, hi := scaleRange(kind, vals...)
	c := epochChart(st, kind, n, lo, hi, w, h)
	if n == 0 {
		return emptyChart(c, st)
	}
	c.Clear()
	c.DrawXYAxisAndLabel()
	type labelAt struct {
		p     canvas.Point
		text  string
		style lipgloss.Style
	}
	var labels []labelAt
	for _, cv := range curves {
		if last, ok := drawLine(c, cv.vals, cv.style, cv.pattern); ok && cv.label != "" {
			labels = append(labels, labelAt{last, cv.label, cv.style})
		}
	}
	// Labels go on the graph area only, one cell each, never on another.
	left, right, bottom := c.Origin().X+1, c.Origin().X+1+c.GraphWidth(), c.Origin().Y
	taken := map[canvas.Point]bool{}
	for _, l := range labels {
		for _, d := range []canvas.Point{{X: 1}, {X: 1, Y: -1}, {X: 1, Y: 1}, {X: 2}, {}, {Y: -1}, {Y: 1}} {
			p := l.p.Add(d)
			if p.X >= left && p.X < right && p.Y >= 0 && p.Y < bottom && !taken[p] {
				taken[p] = true
				c.Canvas.SetStringWithStyle(p, l.text, l.style)
				break
			}
		}
	}
	return c.View()
}

// drawLine draws vs (epoch i+1 at X = i+1) over the chart as a braille
// line of pattern p, scaled as timeserieslinechart scales its data sets;
// the latest value is always drawn. It returns the canvas cell of the
// latest value, ok false if vs has none.
func drawLine(c *tslc.Model, vs []float64, style lipgloss.Style, p linePattern) (last canvas.Point, ok bool) {
	gw, gh := c.GraphWidth(), c.GraphHeight()
	dx, dy := c.ViewMaxX()-c.ViewMinX(), c.ViewMaxY()-c.ViewMinY()
	if gw <= 0 || gh <= 0 || dx <= 0 || dy <= 0 {
		return last, false
	}
	grid := graph.NewBrailleGrid(gw, gh, 0, float64(gw), 0, float64(gh))
	xs, ys := float64(gw)/dx, float64(c.Origin().Y)/dy
	var pts []canvas.Point
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		v = clampTo(v, c.ViewMinY(), c.ViewMaxY()) // off the scale (scaleRange): on the edge
		pts = append(pts, grid.GridPoint(canvas.Float64Point{X: (float64(i+1) - c.ViewMinX()) * xs, Y: (v - c.ViewMinY()) * ys}))
	}
	k := 0
	for i := range pts {
		j := min(i+1, len(pts)-1)
		line := graph.GetLinePoints(pts[i], pts[j])
		if i < len(pts)-1 {
			line = line[:len(line)-1] // the next segment starts there
		}
		for _, q := range line {
			if p.on(k) {
				grid.Set(q)
			}
			k++
		}
	}
	origin := canvas.Point{X: c.Origin().X + 1, Y: 0}
	if len(pts) > 0 {
		lp := pts[len(pts)-1]
		grid.Set(lp) // always show the latest value
		last, ok = origin.Add(canvas.Point{X: lp.X / 2, Y: lp.Y / 4}), true
	}
	graph.DrawBraillePatterns(&c.Canvas, origin, grid.BraillePatterns(), style)
	return last, ok
}

// legend is the line above a chart: what it plots and the latest train and
// test values, with the line samples of the two curves.
func legend(st *Styles, kind chartKind, r *runState, w int) string {
	tr, te := "—", "—"
	if e, ok := r.latest(); ok {
		if kind == chartAcc {
			tr, te = pct(e.TrainAcc)+"%", pct(e.TestAcc)+"%"
		} else {
			tr, te = fmt.Sprintf("%.4f", e.TrainLoss), fmt.Sprintf("%.4f", e.TestLoss)
		}
	}
	title := "acc" // fits "acc ┄ train 100.00%  ━ test 100.00%" in 36 cells
	if kind == chartLoss {
		title = "loss"
	}
	if w >= 40 {
		title = map[chartKind]string{chartAcc: "accuracy", chartLoss: "loss    "}[kind]
	}
	s := fmt.Sprintf("%s %s train %s  %s test %s", st.Bold.Render(title), st.legendKey(true), tr, st.legendKey(false), te)
	return truncate(s, w)
}
