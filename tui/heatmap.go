package tui

// The confusion matrix as a coloured table (Heatmap) and per-class accuracy
// as bars (ClassBars), as plain lines for `fmnist eval` on a terminal.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/muesli/termenv"
)

// rgb is a colour with 8-bit channels.
type rgb struct{ r, g, b uint8 }

// tint is a colour and the 16-colour palette entry that stands for it in
// termenv.ANSI (-1: the nearest entry).
type tint struct {
	c    rgb
	ansi int
}

// ansi16 is the 16-colour palette as termenv has it.
var ansi16 = [16]rgb{
	{0, 0, 0}, {128, 0, 0}, {0, 128, 0}, {128, 128, 0}, {0, 0, 128}, {128, 0, 128}, {0, 128, 128}, {192, 192, 192},
	{128, 128, 128}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0}, {0, 0, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
}

// The heatmap's ramps, from a share just above 0 to a share of 1: blues
// off the diagonal, greens on it. Every channel grows along each ramp, so
// a larger share is always a lighter, stronger colour. With 16 colours
// the ramps are a few palette entries, chosen by share.
var (
	rampOff     = [3]rgb{{20, 30, 60}, {33, 113, 181}, {189, 215, 238}}
	rampDiag    = [3]rgb{{15, 45, 25}, {35, 139, 69}, {199, 233, 192}}
	ansiOff     = []int{4, 12, 14} // blue, bright blue, bright cyan
	ansiDiag    = []int{2, 10}     // green, bright green
	tintBlack   = tint{rgb{0, 0, 0}, 0}
	tintWhite   = tint{rgb{255, 255, 255}, 15}
	tintZero    = tint{rgb{110, 110, 110}, 8} // the text of empty cells
	tintBar     = tint{rgb{65, 171, 93}, 2}   // ClassBars' bars
	partialBars = []rune("▏▎▍▌▋▊▉")           // 1/8 to 7/8 of a cell
)

// heatTint is the colour of a cell with share s in (0,1] of its row. The
// ramp is followed by the square root of the share, so that the few percent
// a class loses to another still show.
func heatTint(s float64, diag bool) tint {
	ramp, pal := rampOff, ansiOff
	if diag {
		ramp, pal = rampDiag, ansiDiag
	}
	s = math.Sqrt(min(max(s, 0), 1))
	lerp := func(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	i, t := 0, s*2
	if t > 1 {
		i, t = 1, t-1
	}
	c := rgb{lerp(ramp[i].r, ramp[i+1].r, t), lerp(ramp[i].g, ramp[i+1].g, t), lerp(ramp[i].b, ramp[i+1].b, t)}
	k := min(int(math.Ceil(s*float64(len(pal))))-1, len(pal)-1)
	return tint{c, pal[max(k, 0)]}
}

// sgr is the SGR parameters that set the foreground (or background) to t in
// prof, and the colour the terminal shows for them: TrueColor exact, ANSI256
// the nearest entry of the 6x6x6 cube or the grey ramp, ANSI t's palette
// entry.
func sgr(prof termenv.Profile, t tint, bg bool) (string, rgb) {
	base := 38
	if bg {
		base = 48
	}
	switch prof {
	case termenv.ANSI256:
		n, c := nearest256(t.c)
		return fmt.Sprintf("%d;5;%d", base, n), c
	case termenv.ANSI:
		n := t.ansi
		if n < 0 {
			n = nearest16(t.c)
		}
		code := 30 + n%8
		if n >= 8 {
			code = 90 + n - 8
		}
		if bg {
			code += 10
		}
		return strconv.Itoa(code), ansi16[n]
	}
	return fmt.Sprintf("%d;2;%d;%d;%d", base, t.c.r, t.c.g, t.c.b), t.c
}

// dist2 is the squared distance between two colours.
func dist2(a, b rgb) int {
	dr, dg, db := int(a.r)-int(b.r), int(a.g)-int(b.g), int(a.b)-int(b.b)
	return dr*dr + dg*dg + db*db
}

// nearest256 is the xterm palette entry (16-255) nearest to c and its
// colour.
func nearest256(c rgb) (int, rgb) {
	levels := [6]int{0, 95, 135, 175, 215, 255}
	near := func(v uint8) int {
		best := 0
		for i, l := range levels {
			if abs(int(v)-l) < abs(int(v)-levels[best]) {
				best = i
			}
		}
		return best
	}
	r, g, b := near(c.r), near(c.g), near(c.b)
	cube := rgb{uint8(levels[r]), uint8(levels[g]), uint8(levels[b])}
	mean := (float64(c.r) + float64(c.g) + float64(c.b)) / 3
	k := min(max(int(math.Round((mean-8)/10)), 0), 23)
	gv := uint8(8 + 10*k)
	grey := rgb{gv, gv, gv}
	if dist2(c, grey) < dist2(c, cube) {
		return 232 + k, grey
	}
	return 16 + 36*r + 6*g + b, cube
}

// nearest16 is the 16-colour palette entry nearest to c.
func nearest16(c rgb) int {
	best := 0
	for i, p := range ansi16 {
		if dist2(c, p) < dist2(c, ansi16[best]) {
			best = i
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// luma is c's perceived brightness, 0-255.
func luma(c rgb) float64 { return 0.299*float64(c.r) + 0.587*float64(c.g) + 0.114*float64(c.b) }

// classNames is classes padded to n entries (a missing name is the index).
func classNames(classes []string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i)
		if i < len(classes) && classes[i] != "" {
			names[i] = classes[i]
		}
	}
	return names
}

// shareShade is the Ascii mark of a cell with share s of its row: a shade
// character by share, never blank for a share above 0.
func shareShade(s float64) rune {
	if r := shade(s); r != shades[0] || s <= 0 {
		return r
	}
	return shades[1]
}

// Heatmap draws the confusion matrix conf (rows: true class, columns:
// predicted) in at most width columns (for widths of about 20 and more): a
// header of column labels (short class names when they fit and stay
// distinct, else class indices, and then the rows' names start with their
// index), then one line per true class: its name (truncated to fit) and a
// cell per predicted class. A cell's background shows the count's share of
// its row, blue off the diagonal and green on it, lighter and stronger for
// larger shares (following the square root of the share); cells counting 0
// keep the terminal's background and show a grey 0. The text is the count,
// right-aligned, when it fits (black on light cells, white on dark). With
// termenv.Ascii there are no escape codes: each count is preceded by a shade
// character (" ░▒▓█") for its share, at least "░" above 0.
func Heatmap(conf [10][10]int, classes []string, prof termenv.Profile, width int) []string {
	const n = 10
	ascii := prof == termenv.Ascii
	maxCount := 0
	var rowSum [n]int
	for r := range n {
		for c := range n {
			maxCount = max(maxCount, conf[r][c])
			rowSum[r] += conf[r][c]
		}
	}
	digits := len(strconv.Itoa(maxCount))
	minCell := digits + 1 // the count and a space
	if ascii {
		minCell = digits + 2 // a space, a shade and the count
	}

	// Layout: the cells first, at up to 7 columns; names get the rest.
	names := classNames(classes, n)
	indexed := make([]string, n)
	nameFull := 0
	for i, s := range names {
		indexed[i] = strconv.Itoa(i) + " " + s
		nameFull = max(nameFull, cellWidth(indexed[i]))
	}
	cw, nameW := (width-1-nameFull)/n, nameFull
	if cw >= minCell {
		cw = min(cw, max(minCell, 7))
	} else {
		cw, nameW = minCell, width-1-n*minCell
		if floor := min(nameFull, 4); nameW < floor {
			nameW = floor
			cw = max(1, (width-1-nameW)/n)
		}
	}
	showText := cw >= minCell

	// Column labels: names cut to the cell if that keeps them apart.
	labelW := max(cw-1, 1)
	labels := make([]string, n)
	seen := map[string]bool{}
	useNames := labelW >= 3
	for i, s := range names {
		labels[i] = string([]rune(s)[:min(len([]rune(s)), labelW)])
		useNames = useNames && !seen[labels[i]]
		seen[labels[i]] = true
	}
	rowNames := names
	if useNames {
		w := 0
		for _, s := range names {
			w = max(w, cellWidth(s))
		}
		nameW = min(nameW, w)
	} else {
		rowNames = indexed
		for i := range labels {
			labels[i] = strconv.Itoa(i)
		}
	}

	lines := make([]string, 0, n+1)
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", nameW+1))
	for _, l := range labels {
		if cw < 2 {
			b.WriteString(padRight(l, cw))
		} else if ascii {
			b.WriteString(padRight(" "+padLeft(l, cw-1), cw))
		} else {
			b.WriteString(padRight(padLeft(l, cw-1)+" ", cw))
		}
	}
	lines = append(lines, strings.TrimRight(b.String(), " "))

	for r := range n {
		b.Reset()
		b.WriteString(padRight(rowNames[r], nameW))
		b.WriteByte(' ')
		for c := range n {
			v := conf[r][c]
			share := 0.0
			if rowSum[r] > 0 {
				share = float64(v) / float64(rowSum[r])
			}
			count := strconv.Itoa(v)
			if ascii {
				sh := string(shareShade(share))
				if showText {
					b.WriteString(" " + sh + padLeft(count, cw-2))
				} else {
					b.WriteString(strings.Repeat(sh, cw))
				}
				continue
			}
			text := strings.Repeat(" ", cw)
			if showText {
				text = padLeft(count, cw-1) + " "
			}
			if v == 0 {
				fg, _ := sgr(prof, tintZero, false)
				b.WriteString("\x1b[" + fg + "m" + text + sgrReset)
				continue
			}
			bg, shown := sgr(prof, heatTint(share, r == c), true)
			ink := tintWhite
			if luma(shown) > 128 {
				ink = tintBlack
			}
			fg, _ := sgr(prof, ink, false)
			b.WriteString("\x1b[" + bg + "m\x1b[" + fg + "m" + text + sgrReset)
		}
		lines = append(lines, b.String())
	}
	return lines
}

// ClassBars draws per-class accuracy (the diagonal over the row sum of
// conf) in at most width columns, one line per class: the name, a bar of
// "█" with an eighth block for the remainder, and the percentage with two
// decimals ("—" for a class without images). The bars are coloured except
// with termenv.Ascii.
func ClassBars(conf [10][10]int, classes []string, prof termenv.Profile, width int) []string {
	const n, pctW = 10, 7 // "100.00%"
	names := classNames(classes, n)
	nameFull := 0
	for _, s := range names {
		nameFull = max(nameFull, cellWidth(s))
	}
	nameW := nameFull
	barW := width - nameW - 2 - pctW
	if barW < 10 {
		nameW = max(min(nameFull, 4), width-2-pctW-10)
		barW = max(0, width-nameW-2-pctW)
	}
	fg, _ := sgr(prof, tintBar, false)
	lines := make([]string, 0, n)
	for r := range n {
		sum := 0
		for _, v := range conf[r] {
			sum += v
		}
		pct, bar := "—", ""
		if sum > 0 {
			acc := float64(conf[r][r]) / float64(sum)
			pct = fmt.Sprintf("%.2f%%", acc*100)
			e := int(math.Round(acc * float64(barW) * 8))
			bar = strings.Repeat("█", e/8)
			if e%8 > 0 {
				bar += string(partialBars[e%8-1])
			}
		}
		pad := strings.Repeat(" ", barW-cellWidth(bar))
		if bar != "" && prof != termenv.Ascii {
			bar = "\x1b[" + fg + "m" + bar + sgrReset
		}
		lines = append(lines, padRight(names[r], nameW)+" "+bar+pad+" "+padLeft(pct, pctW))
	}
	return lines
}
