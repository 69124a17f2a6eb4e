package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The report's line charts, drawn with gonum/plot: a framed plot with a
// light grid, our own tick choice (whole epochs, "%" labels), curves with
// dots on their points, and a legend in the corner that hides the fewest
// points, or right of the plot.

// Chart formats Encode writes; the format is also the file extension.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
	FormatPDF = "pdf"
)

// ChartFormats lists the chart formats, the default first.
var ChartFormats = []string{FormatPNG, FormatSVG, FormatPDF}

// CheckChartFormat returns an error naming the valid formats unless format
// is one of ChartFormats.
func CheckChartFormat(format string) error {
	for _, f := range ChartFormats {
		if format == f {
			return nil
		}
	}
	return fmt.Errorf("unknown chart format %q (want %s)", format, orList(ChartFormats))
}

// orList is "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Series is one curve.
type Series struct {
	Label string
	X, Y  []float64
	Color color.RGBA
}

// Chart is a line chart of several series.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	Width, Height         int    // pixels of the PNG (96 dpi); default 800x480
	XInteger              bool   // x ticks on whole numbers (epochs)
	YSuffix               string // appended to y tick labels, e.g. "%"
	LegendOutside         bool   // legend right of the plot (many series)
}

// Palette is matplotlib's tab10, so curves look like the seed's Keras plots.
var Palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

var (
	inkColor  = color.RGBA{34, 34, 34, 255}
	axisColor = color.RGBA{90, 90, 90, 255}
	gridColor = color.RGBA{228, 228, 228, 255}
	boxColor  = color.RGBA{204, 204, 204, 255}
)

// chartDPI is the PNG resolution: Chart sizes are pixels at this
// resolution, and the same physical size in SVG and PDF.
const chartDPI = 96

func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / chartDPI }

const (
	curveWidth   = 1.6 // points
	markerRadius = 2.4 // points
	maxMarkers   = 60  // points per curve beyond which no dots are drawn
)

func sans(size vg.Length, bold bool) font.Font {
	f := font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// titleFont is the chart title's font: bold, except in PDF. gonum/plot's
// PDF canvas (v0.17) embeds every font it uses under the same file name,
// so a PDF can hold only one face (the last one used wins, and text in the
// others is drawn with the wrong glyphs): its title stays regular.
func titleFont(format string) font.Font {
	return sans(13, format != FormatPDF)
}

// niceStep is a 1, 2 or 5 times a power of ten step giving at most maxTicks
// ticks over span.
func niceStep(span float64, maxTicks int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(maxTicks)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if math.Abs(v) < step/1e6 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// points are the finite points of s.
func (s Series) points() plotter.XYs {
	var xy plotter.XYs
	for i := range s.X {
		if i < len(s.Y) && finite(s.X[i]) && finite(s.Y[i]) {
			xy = append(xy, plotter.XY{X: s.X[i], Y: s.Y[i]})
		}
	}
	return xy
}

// axes returns the axis ranges and their ticks: y from one tick below the
// data to one above, x over the data (whole numbers with XInteger).
func (c *Chart) axes() (xmin, xmax float64, xticks []plot.Tick, ymin, ymax float64, yticks []plot.Tick) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.points() {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if xmax-xmin < 1 {
		xmin, xmax = xmin-0.5, xmax+0.5
		if c.XInteger {
			xmin, xmax = math.Floor(xmin), math.Ceil(xmax)
		}
	}
	if ymax-ymin < 1e-9 {
		d := math.Max(math.Abs(ymax)*0.05, 0.01)
		ymin, ymax = ymin-d, ymax+d
	}
	ystep := niceStep(ymax-ymin, 6)
	ymin, ymax = math.Floor(ymin/ystep)*ystep, math.Ceil(ymax/ystep)*ystep
	for i := 0; ; i++ {
		v := ymin + float64(i)*ystep
		if v > ymax+ystep/2 {
			break
		}
		yticks = append(yticks, plot.Tick{Value: v, Label: formatTick(v, ystep) + c.YSuffix})
	}
	xstep := niceStep(xmax-xmin, 10)
	if c.XInteger {
		xstep = math.Max(1, math.Round(xstep))
	}
	first := math.Ceil(xmin/xstep-1e-9) * xstep
	for i := 0; ; i++ {
		v := first + float64(i)*xstep
		if v > xmax+xstep*1e-6 {
			break
		}
		xticks = append(xticks, plot.Tick{Value: v, Label: formatTick(v, xstep)})
	}
	return
}

// Encode draws the chart as a PNG, SVG or PDF file (see ChartFormats).
func (c *Chart) Encode(format string) ([]byte, error) {
	if err := CheckChartFormat(format); err != nil {
		return nil, err
	}
	W, H := c.Width, c.Height
	if W <= 0 {
		W = 800
	}
	if H <= 0 {
		H = 480
	}
	w, h := px(float64(W)), px(float64(H))
	var canvas vg.CanvasWriterTo
	switch format {
	case FormatPNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI),
			vgimg.UseBackgroundColor(color.White))}
	case FormatSVG:
		canvas = vgsvg.New(w, h)
	case FormatPDF:
		canvas = vgpdf.New(w, h) // embeds the fonts it uses
	}
	if err := c.draw(draw.New(canvas), format); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("%s chart: %v", format, err)
	}
	if format == FormatSVG {
		// Liberation Sans has Arial's metrics: name the common fonts
		// after it for viewers that lack it.
		return bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"),
			[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")), nil
	}
	return b.Bytes(), nil
}

func (c *Chart) draw(dc draw.Canvas, format string) (err error) {
	defer func() {
		// gonum/plot panics on impossible layouts (a canvas too small).
		if r := recover(); r != nil {
			err = fmt.Errorf("chart %q: %v", c.Title, r)
		}
	}()
	dc.SetColor(color.White) // SVG and PDF start transparent
	dc.Fill(dc.Rectangle.Path())
	p := plot.New()
	p.BackgroundColor = nil
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = titleFont(format)
	p.Title.TextStyle.Color = inkColor
	p.Title.Padding = px(12)
	xmin, xmax, xticks, ymin, ymax, yticks := c.axes()
	for _, a := range []struct {
		ax    *plot.Axis
		label string
		ticks []plot.Tick
	}{{&p.X, c.XLabel, xticks}, {&p.Y, c.YLabel, yticks}} {
		ax := a.ax
		ax.Label.Text = a.label
		ax.Label.TextStyle.Font = sans(11, false)
		ax.Label.TextStyle.Color = inkColor
		ax.Label.Padding = px(6)
		ax.Tick.Label.Font = sans(10, false)
		ax.Tick.Label.Color = inkColor
		ax.Tick.Marker = plot.ConstantTicks(a.ticks)
		ax.Tick.Color = axisColor
		ax.Tick.Width = px(1)
		ax.Tick.Length = px(5)
		ax.Width = 0 // the frame is the axis line
		ax.Padding = 0
	}

	grid := plotter.NewGrid()
	grid.Vertical = draw.LineStyle{Color: gridColor, Width: px(1)}
	grid.Horizontal = grid.Vertical
	p.Add(grid)
	leg := plot.NewLegend()
	leg.TextStyle.Font = sans(10, false)
	leg.TextStyle.Color = inkColor
	leg.Top, leg.Left = true, true
	leg.Padding = px(4)
	leg.ThumbnailWidth = px(26)
	for _, s := range c.Series {
		line := &plotter.Line{XYs: s.points(), LineStyle: draw.LineStyle{Color: s.Color, Width: curveWidth}}
		thumbs := []plot.Thumbnailer{line}
		if len(line.XYs) > 0 {
			p.Add(line)
		}
		if len(line.XYs) <= maxMarkers {
			dots := &plotter.Scatter{XYs: line.XYs,
				GlyphStyle: draw.GlyphStyle{Color: s.Color, Radius: markerRadius, Shape: draw.CircleGlyph{}}}
			if len(dots.XYs) > 0 {
				p.Add(dots)
			}
			thumbs = append(thumbs, dots)
		}
		leg.Add(s.Label, thumbs...)
	}
	// Keep points off the frame: the ranges reach a little past the outer
	// ticks (set after Add, which widens them to the data).
	p.X.Min, p.X.Max = xmin-(xmax-xmin)*0.025, xmax+(xmax-xmin)*0.025
	p.Y.Min, p.Y.Max = ymin-(ymax-ymin)*0.04, ymax+(ymax-ymin)*0.04
	p.Add(frame{})

	// Leave a margin round the chart.
	area := draw.Crop(dc, px(14), -px(20), px(10), -px(14))
	lb := &legendBox{leg: leg, series: c.Series}
	if c.LegendOutside && len(c.Series) > 0 {
		lw, lh := lb.size()
		plotArea := draw.Crop(area, 0, -(lw + px(16)), 0, 0)
		p.Draw(plotArea)
		data := p.DataCanvas(plotArea)
		lb.drawAt(area, vg.Rectangle{
			Min: vg.Point{X: area.Max.X - lw, Y: data.Max.Y - lh},
			Max: vg.Point{X: area.Max.X, Y: data.Max.Y},
		})
		return nil
	}
	if len(c.Series) > 0 {
		p.Add(lb)
	}
	p.Draw(area)
	return nil
}

// frame strokes the border of the data area.
type frame struct{}

func (frame) Plot(c draw.Canvas, _ *plot.Plot) {
	r := c.Rectangle
	c.StrokeLines(draw.LineStyle{Color: axisColor, Width: px(1)}, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
}

// legendBox is the legend on a white box; as a plotter it goes in the
// corner of the data area whose box covers the fewest data.
type legendBox struct {
	leg    plot.Legend // its entries, one a series
	series []Series
}

// legendPad is the space between the legend box's border and its entries.
var legendPad = px(8)

func (l *legendBox) entryHeight() vg.Length {
	var h vg.Length
	for _, s := range l.series {
		h = max(h, l.leg.TextStyle.Rectangle(s.Label).Max.Y)
	}
	return h
}

// size is the width and height of the box.
func (l *legendBox) size() (w, h vg.Length) {
	var tw vg.Length
	for _, s := range l.series {
		tw = max(tw, l.leg.TextStyle.Width(s.Label))
	}
	n := vg.Length(len(l.series))
	w = l.leg.ThumbnailWidth + l.leg.TextStyle.Width(" ") + tw + 2*legendPad
	h = n*l.entryHeight() + (n-1)*l.leg.Padding + 2*legendPad
	return w, h
}

// drawAt draws the box and the legend in r.
func (l *legendBox) drawAt(c draw.Canvas, r vg.Rectangle) {
	c.SetColor(color.White)
	c.Fill(r.Path())
	c.StrokeLines(draw.LineStyle{Color: boxColor, Width: px(1)}, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
	// Legend.Draw leaves the font's descent free above the first entry.
	descent := l.leg.TextStyle.FontExtents().Descent
	inner := c
	inner.Rectangle = vg.Rectangle{
		Min: vg.Point{X: r.Min.X + legendPad, Y: r.Min.Y + legendPad},
		Max: vg.Point{X: r.Max.X - legendPad, Y: r.Max.Y - legendPad + descent},
	}
	l.leg.Draw(inner)
}

// Plot puts the box in the data area's corner that hides the fewest data.
func (l *legendBox) Plot(c draw.Canvas, p *plot.Plot) {
	w, h := l.size()
	pad := px(8)
	r := c.Rectangle
	corners := []vg.Rectangle{
		{Min: vg.Point{X: r.Max.X - pad - w, Y: r.Min.Y + pad}, Max: vg.Point{X: r.Max.X - pad, Y: r.Min.Y + pad + h}}, // bottom right
		{Min: vg.Point{X: r.Max.X - pad - w, Y: r.Max.Y - pad - h}, Max: vg.Point{X: r.Max.X - pad, Y: r.Max.Y - pad}}, // top right
		{Min: vg.Point{X: r.Min.X + pad, Y: r.Min.Y + pad}, Max: vg.Point{X: r.Min.X + pad + w, Y: r.Min.Y + pad + h}}, // bottom left
		{Min: vg.Point{X: r.Min.X + pad, Y: r.Max.Y - pad - h}, Max: vg.Point{X: r.Min.X + pad + w, Y: r.Max.Y - pad}}, // top left
	}
	trX, trY := p.Transforms(&c)
	var pts [][]vg.Point
	for _, s := range l.series {
		var q []vg.Point
		for _, xy := range s.points() {
			q = append(q, vg.Point{X: trX(xy.X), Y: trY(xy.Y)})
		}
		pts = append(pts, q)
	}
	best, bestScore := corners[0], math.MaxInt
	for _, box := range corners {
		if score := legendScore(box, pts); score < bestScore {
			best, bestScore = box, score
		}
	}
	l.drawAt(c, best)
}

// legendScore is how much of the curves pts a legend box would hide:
// points and segment samples inside the box (grown a little) count most,
// those near it break ties.
func legendScore(box vg.Rectangle, curves [][]vg.Point) int {
	grow := func(r vg.Rectangle, d vg.Length) vg.Rectangle {
		return vg.Rectangle{Min: vg.Point{X: r.Min.X - d, Y: r.Min.Y - d}, Max: vg.Point{X: r.Max.X + d, Y: r.Max.Y + d}}
	}
	in := func(p vg.Point, r vg.Rectangle) bool {
		return p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y
	}
	inside, near := grow(box, px(6)), grow(box, px(30))
	score := 0
	hit := func(p vg.Point, w int) {
		if in(p, inside) {
			score += 1000 * w
		} else if in(p, near) {
			score += w
		}
	}
	for _, q := range curves {
		for i, b := range q {
			hit(b, 10)
			if i == 0 {
				continue
			}
			// Sample the segment from the previous point every few pixels.
			a := q[i-1]
			steps := int(math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y))/float64(px(3))) + 1
			for k := 1; k < steps; k++ {
				t := vg.Length(float64(k) / float64(steps))
				hit(vg.Point{X: a.X + t*(b.X-a.X), Y: a.Y + t*(b.Y-a.Y)}, 1)
			}
		}
	}
	return score
}
