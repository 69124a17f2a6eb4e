package results

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// A small line-chart renderer for the report: axes with ticks and labels, a
// title, a legend and anti-aliased curves, drawn with image/draw and
// x/image's fixed 7x13 bitmap font.

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
	Width, Height         int
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
	face      = basicfont.Face7x13
	inkColor  = color.RGBA{34, 34, 34, 255}
	axisColor = color.RGBA{90, 90, 90, 255}
	gridColor = color.RGBA{228, 228, 228, 255}
)

const lineHeight = 13

func textWidth(s string) int { return font.MeasureString(face, s).Ceil() }

// drawText draws s with its top-left corner at (x, y).
func drawText(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y+face.Ascent)}
	d.DrawString(s)
}

// drawTextUp draws s rotated 90° counter-clockwise (reading bottom to top)
// with its bounding box's top-left corner at (x, y).
func drawTextUp(dst *image.RGBA, x, y int, s string, c color.RGBA) {
	w := textWidth(s)
	tmp := image.NewRGBA(image.Rect(0, 0, w, lineHeight))
	drawText(tmp, 0, 0, s, c)
	for ty := 0; ty < lineHeight; ty++ {
		for tx := 0; tx < w; tx++ {
			px := tmp.RGBAAt(tx, ty)
			if px.A == 0 {
				continue
			}
			blend(dst, x+ty, y+w-1-tx, c, float64(px.A)/255)
		}
	}
}

func blend(img *image.RGBA, x, y int, c color.RGBA, a float64) {
	if !(image.Point{x, y}.In(img.Rect)) || a <= 0 {
		return
	}
	a = math.Min(a, 1)
	o := img.RGBAAt(x, y)
	mix := func(s, d uint8) uint8 { return uint8(math.Round(float64(s)*a + float64(d)*(1-a))) }
	img.SetRGBA(x, y, color.RGBA{mix(c.R, o.R), mix(c.G, o.G), mix(c.B, o.B), 255})
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
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

// Render draws the chart.
func (c *Chart) Render() *image.RGBA {
	W, H := c.Width, c.Height
	if W == 0 {
		W = 800
	}
	if H == 0 {
		H = 480
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fillRect(img, img.Rect, color.White)

	// Data ranges.
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range s.X {
			if i >= len(s.Y) || math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
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
	xstep := niceStep(xmax-xmin, 10)
	if c.XInteger {
		xstep = math.Max(1, math.Round(xstep))
	}

	// Layout.
	ylabels := []string{}
	for v := ymin; v <= ymax+ystep/2; v += ystep {
		ylabels = append(ylabels, formatTick(v, ystep)+c.YSuffix)
	}
	tickW := 0
	for _, l := range ylabels {
		tickW = max(tickW, textWidth(l))
	}
	left := 12 + lineHeight + 8 + tickW + 8
	top := 16 + lineHeight + 14
	bottom := H - (8 + lineHeight + 8 + lineHeight + 12)
	right := W - 20
	legendW := 0
	for _, s := range c.Series {
		legendW = max(legendW, 28+textWidth(s.Label))
	}
	legendW += 16
	if c.LegendOutside {
		right = W - legendW - 16
	}
	plot := image.Rect(left, top, right, bottom)
	// Data map to the plot less an inner margin, so that points on the
	// range's edges are not drawn over the frame.
	const inner = 10
	px := func(x float64) float64 {
		return float64(plot.Min.X+inner) + (x-xmin)/(xmax-xmin)*float64(plot.Dx()-1-2*inner)
	}
	py := func(y float64) float64 {
		return float64(plot.Max.Y-1-inner) - (y-ymin)/(ymax-ymin)*float64(plot.Dy()-1-2*inner)
	}

	// Grid, ticks and tick labels.
	for i, l := range ylabels {
		v := ymin + float64(i)*ystep
		y := int(math.Round(py(v)))
		fillRect(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1), gridColor)
		fillRect(img, image.Rect(plot.Min.X-5, y, plot.Min.X, y+1), axisColor)
		drawText(img, plot.Min.X-8-textWidth(l), y-lineHeight/2-1, l, inkColor)
	}
	first := math.Ceil(xmin/xstep-1e-9) * xstep
	for v := first; v <= xmax+xstep*1e-6; v += xstep {
		x := int(math.Round(px(v)))
		fillRect(img, image.Rect(x, plot.Min.Y, x+1, plot.Max.Y), gridColor)
		fillRect(img, image.Rect(x, plot.Max.Y, x+1, plot.Max.Y+5), axisColor)
		l := formatTick(v, xstep)
		drawText(img, x-textWidth(l)/2, plot.Max.Y+8, l, inkColor)
	}
	// Axes frame.
	fillRect(img, image.Rect(plot.Min.X, plot.Min.Y, plot.Max.X, plot.Min.Y+1), axisColor)
	fillRect(img, image.Rect(plot.Min.X, plot.Max.Y-1, plot.Max.X, plot.Max.Y), axisColor)
	fillRect(img, image.Rect(plot.Min.X, plot.Min.Y, plot.Min.X+1, plot.Max.Y), axisColor)
	fillRect(img, image.Rect(plot.Max.X-1, plot.Min.Y, plot.Max.X, plot.Max.Y), axisColor)

	// Curves.
	for _, s := range c.Series {
		mask := make([]float64, plot.Dx()*plot.Dy())
		var pts [][2]float64
		for i := range s.X {
			if i < len(s.Y) && !math.IsNaN(s.Y[i]) && !math.IsInf(s.Y[i], 0) {
				pts = append(pts, [2]float64{px(s.X[i]), py(s.Y[i])})
			}
		}
		for i := 1; i < len(pts); i++ {
			segment(mask, plot, pts[i-1], pts[i], 1.1)
		}
		if len(pts) <= 60 {
			for _, p := range pts {
				segment(mask, plot, p, p, 2.6)
			}
		}
		for y := 0; y < plot.Dy(); y++ {
			for x := 0; x < plot.Dx(); x++ {
				blend(img, plot.Min.X+x, plot.Min.Y+y, s.Color, mask[y*plot.Dx()+x])
			}
		}
	}

	// Titles.
	drawText(img, (W-textWidth(c.Title))/2, 14, c.Title, inkColor)
	drawText(img, (W-textWidth(c.Title))/2+1, 14, c.Title, inkColor) // bold
	drawText(img, plot.Min.X+(plot.Dx()-textWidth(c.XLabel))/2, plot.Max.Y+8+lineHeight+8, c.XLabel, inkColor)
	drawTextUp(img, 12, plot.Min.Y+(plot.Dy()-textWidth(c.YLabel))/2, c.YLabel, inkColor)

	// Legend.
	if len(c.Series) > 0 {
		lh := len(c.Series)*(lineHeight+5) + 10
		var box image.Rectangle
		if c.LegendOutside {
			box = image.Rect(plot.Max.X+12, plot.Min.Y, plot.Max.X+12+legendW, plot.Min.Y+lh)
		} else {
			box = c.legendCorner(plot, legendW, lh, px, py)
		}
		fillRect(img, box, color.White)
		fillRect(img, image.Rect(box.Min.X, box.Min.Y, box.Max.X, box.Min.Y+1), gridColor)
		fillRect(img, image.Rect(box.Min.X, box.Max.Y-1, box.Max.X, box.Max.Y), gridColor)
		fillRect(img, image.Rect(box.Min.X, box.Min.Y, box.Min.X+1, box.Max.Y), gridColor)
		fillRect(img, image.Rect(box.Max.X-1, box.Min.Y, box.Max.X, box.Max.Y), gridColor)
		for i, s := range c.Series {
			y := box.Min.Y + 6 + i*(lineHeight+5)
			fillRect(img, image.Rect(box.Min.X+8, y+lineHeight/2-1, box.Min.X+28, y+lineHeight/2+2), s.Color)
			drawText(img, box.Min.X+34, y, s.Label, inkColor)
		}
	}
	return img
}

// legendCorner picks the plot corner whose legend box covers the fewest
// data points.
func (c *Chart) legendCorner(plot image.Rectangle, w, h int, px, py func(float64) float64) image.Rectangle {
	const pad = 8
	corners := []image.Rectangle{
		image.Rect(plot.Max.X-pad-w, plot.Max.Y-pad-h, plot.Max.X-pad, plot.Max.Y-pad), // bottom right
		image.Rect(plot.Max.X-pad-w, plot.Min.Y+pad, plot.Max.X-pad, plot.Min.Y+pad+h), // top right
		image.Rect(plot.Min.X+pad, plot.Max.Y-pad-h, plot.Min.X+pad+w, plot.Max.Y-pad), // bottom left
		image.Rect(plot.Min.X+pad, plot.Min.Y+pad, plot.Min.X+pad+w, plot.Min.Y+pad+h), // top left
	}
	best, bestScore := corners[0], math.MaxInt
	for _, r := range corners {
		// Points and segment samples inside the box (grown a little) count
		// most; those near it break ties.
		inside, near := r.Inset(-6), r.Inset(-30)
		score := 0
		hit := func(x, y float64, w int) {
			p := image.Pt(int(x), int(y))
			if p.In(inside) {
				score += 1000 * w
			} else if p.In(near) {
				score += w
			}
		}
		for _, s := range c.Series {
			for i := range s.X {
				if i >= len(s.Y) {
					continue
				}
				hit(px(s.X[i]), py(s.Y[i]), 10)
				// Sample the segment from the previous point every few pixels.
				if i > 0 {
					ax, ay, bx, by := px(s.X[i-1]), py(s.Y[i-1]), px(s.X[i]), py(s.Y[i])
					steps := int(math.Hypot(bx-ax, by-ay)/3) + 1
					for k := 1; k < steps; k++ {
						t := float64(k) / float64(steps)
						hit(ax+t*(bx-ax), ay+t*(by-ay), 1)
					}
				}
			}
		}
		if score < bestScore {
			best, bestScore = r, score
		}
	}
	return best
}

// segment adds an anti-aliased thick segment from a to b (pixel coordinates,
// half width hw) to the coverage mask of the plot rectangle.
func segment(mask []float64, plot image.Rectangle, a, b [2]float64, hw float64) {
	w := plot.Dx()
	x0 := int(math.Floor(math.Min(a[0], b[0]) - hw - 1))
	x1 := int(math.Ceil(math.Max(a[0], b[0]) + hw + 1))
	y0 := int(math.Floor(math.Min(a[1], b[1]) - hw - 1))
	y1 := int(math.Ceil(math.Max(a[1], b[1]) + hw + 1))
	x0, y0 = max(x0, plot.Min.X), max(y0, plot.Min.Y)
	x1, y1 = min(x1, plot.Max.X-1), min(y1, plot.Max.Y-1)
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			cx, cy := float64(x), float64(y)
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, ((cx-a[0])*dx+(cy-a[1])*dy)/l2))
			}
			ex, ey := a[0]+t*dx-cx, a[1]+t*dy-cy
			cov := hw + 0.5 - math.Sqrt(ex*ex+ey*ey)
			if cov <= 0 {
				continue
			}
			i := (y-plot.Min.Y)*w + (x - plot.Min.X)
			mask[i] = math.Max(mask[i], math.Min(1, cov))
		}
	}
}

// EncodePNG encodes an image as PNG.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
