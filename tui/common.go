package tui

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"fmnist/results"
)

// Minimum terminal size the dashboard draws in.
const (
	minWidth  = 80
	minHeight = 24
)

// common is what every component shares: the terminal size, styles, keys,
// clock, the runs, the selected run and the runs marked to compare.
type common struct {
	width, height int
	styles        *Styles
	keys          *keyMap
	now           func() time.Time
	store         *store
	runsDir       string
	selected      string // ID of the selected run; "" if none
	// marks are the IDs of the runs marked to compare, in the order they
	// were marked; kept for the dashboard's life, whatever runs come and go.
	marks []string
	// evals are the latest evaluations of runs' best models, by run ID;
	// canEval: a controller can be asked for them.
	evals   map[string]*results.BestEval
	canEval bool
}

// marked reports whether run id is marked to compare.
func (c *common) marked(id string) bool { return slices.Contains(c.marks, id) }

// toggleMark marks run id to compare, or unmarks it if it was.
func (c *common) toggleMark(id string) {
	if i := slices.Index(c.marks, id); i >= 0 {
		c.marks = slices.Delete(c.marks, i, i+1)
		return
	}
	c.marks = append(c.marks, id)
}

// bodyHeight is the height between the header and footer lines.
func (c *common) bodyHeight() int { return max(0, c.height-2) }

// tooSmall reports whether the terminal is below the minimum size.
func (c *common) tooSmall() bool { return c.width < minWidth || c.height < minHeight }

// selectedRun is the selected run's state, or nil.
func (c *common) selectedRun() *runState {
	if c.selected == "" {
		return nil
	}
	return c.store.get(c.selected)
}

// selectedIndex is the selected run's display position, or -1.
func (c *common) selectedIndex() int { return c.store.indexOf(c.selected) }

// selectIndex selects the run at display position i, clamped.
func (c *common) selectIndex(i int) {
	list := c.store.list()
	if len(list) == 0 {
		c.selected = ""
		return
	}
	i = min(max(i, 0), len(list)-1)
	c.selected = list[i].ID
}

// width helpers -------------------------------------------------------------

// cellWidth is the display width of s (escape codes excluded). The
// dashboard draws mostly ASCII, box drawing, block and braille characters
// with colour codes: those are counted here directly, since the general
// grapheme-aware count is the bulk of a redraw's cost; anything else goes to
// ansi.StringWidth.
func cellWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			if i+1 >= len(s) || s[i+1] != '[' {
				return ansi.StringWidth(s)
			}
			j := i + 2 // CSI: parameters, then a final byte in 0x40-0x7e
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
		case c < 0x20 || c == 0x7f:
			return ansi.StringWidth(s)
		case c < 0x80:
			w++
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !narrowRune(r) {
				return ansi.StringWidth(s)
			}
			w++
			i += n
		}
	}
	return w
}

// narrowRune reports whether r is one of the one-cell symbols the
// dashboard draws with.
func narrowRune(r rune) bool {
	switch {
	case r >= 0x2500 && r <= 0x25fc: // box drawing, blocks, geometric shapes (not the emoji ◽◾)
		return true
	case r >= 0x2800 && r <= 0x28ff: // braille
		return true
	case r >= 0x2190 && r <= 0x2193: // arrows
		return true
	}
	return r == '·' || r == '—' || r == '…' || r == '–'
}

// truncate cuts s to at most w cells, ending with "…" if it was cut.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if cellWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// padRight pads s with spaces to exactly w cells (truncating if longer).
func padRight(s string, w int) string {
	s = truncate(s, w)
	if n := w - cellWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string {
	s = truncate(s, w)
	if n := w - cellWidth(s); n > 0 {
		s = strings.Repeat(" ", n) + s
	}
	return s
}

// spread puts left and right at the two ends of a w-cell line; right wins
// if both do not fit.
func spread(left, right string, w int) string {
	rw := cellWidth(right)
	if rw >= w {
		return truncate(right, w)
	}
	lw := w - rw - 1
	if lw <= 0 {
		return padLeft(right, w)
	}
	return padRight(left, lw) + " " + right
}

// fit makes s exactly w cells wide and h lines high: longer lines are cut,
// missing lines and cells are blank.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = padRight(l, w)
	}
	return strings.Join(lines, "\n")
}

// center puts block s in the middle of a w x h area, its lines aligned left.
func center(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	bw := 0
	for _, l := range lines {
		bw = max(bw, cellWidth(l))
	}
	bw = min(bw, w)
	for i, l := range lines {
		lines[i] = padRight(l, bw)
	}
	return fit(lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, strings.Join(lines, "\n")), w, h)
}

// overlay draws fg over bg (both w cells wide), centred.
func overlay(bg, fg string, w int) string {
	bl := strings.Split(bg, "\n")
	fl := strings.Split(fg, "\n")
	fw := 0
	for _, l := range fl {
		fw = max(fw, cellWidth(l))
	}
	fw = min(fw, w)
	top := max(0, (len(bl)-len(fl))/2)
	left := max(0, (w-fw)/2)
	for i, l := range fl {
		y := top + i
		if y >= len(bl) {
			break
		}
		row := padRight(bl[y], w)
		bl[y] = ansi.Truncate(row, left, "") + padRight(l, fw) + ansi.TruncateLeft(row, left+fw, "")
	}
	return strings.Join(bl, "\n")
}

// formatting ------------------------------------------------------------------

// pct formats a fraction as a percentage with two decimals, no sign.
func pct(f float64) string { return fmt.Sprintf("%.2f", f*100) }

// duration formats seconds compactly: 45s, 16m34s, 6h15m.
func duration(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) || sec < 0 {
		return "—"
	}
	s := int(math.Round(sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}

// thousands formats a rate or count with thousands separators.
func thousands(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	n := int(math.Round(f))
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Wrap breaks s at spaces into lines of at most w cells (a longer word
// gets a line of its own).
func Wrap(s string, w int) []string { return wrap(s, w) }

// wrapLines is wrap into at most n lines, the last cut short if need be.
func wrapLines(s string, w, n int) []string {
	lines := wrap(s, w)
	if len(lines) > n {
		lines = append(lines[:n-1], truncate(strings.Join(lines[n-1:], " "), w))
	}
	return lines
}

// wrap breaks s at spaces into lines of at most w cells.
func wrap(s string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case cellWidth(line)+1+cellWidth(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
