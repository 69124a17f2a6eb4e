package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// runsView shows one panel per run, as many across and down as fit, and
// scrolls by rows of panels to keep the selected one in view.
type runsView struct {
	c      *common
	offset int // first visible row of panels
}

// grid is the Runs view's layout: cols x rows panels visible, of about
// w x h cells each.
type grid struct{ cols, rows, total int }

func (v *runsView) grid() grid {
	n := v.c.store.len()
	cols := max(1, v.c.width/panelMinWidth)
	if n > 0 {
		cols = min(cols, n)
	}
	total := max(1, (n+cols-1)/cols)
	rows := min(max(1, v.c.bodyHeight()/panelMinHeight), total)
	// When every run fits, rows are filled evenly, with wider panels:
	// four runs at 120 columns are two rows of two, not three and one.
	if total <= rows && n > 0 {
		cols = (n + total - 1) / total
	}
	return grid{cols: cols, rows: rows, total: total}
}

// update handles the Runs view's own keys.
func (v *runsView) update(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys
	g := v.grid()
	i := max(0, v.c.selectedIndex())
	switch {
	case key.Matches(msg, k.Left):
		i--
	case key.Matches(msg, k.Right):
		i++
	case key.Matches(msg, k.Up):
		i -= g.cols
	case key.Matches(msg, k.Down):
		i += g.cols
	case key.Matches(msg, k.PageUp):
		i -= g.cols * g.rows
	case key.Matches(msg, k.PageDown):
		i += g.cols * g.rows
	case key.Matches(msg, k.Top):
		i = 0
	case key.Matches(msg, k.Bottom):
		i = v.c.store.len() - 1
	default:
		return nil
	}
	if i < 0 || i >= v.c.store.len() {
		// Up from the first row or down from the last: stay in the column
		// range but clamp.
		i = min(max(i, 0), v.c.store.len()-1)
	}
	v.c.selectIndex(i)
	v.scrollToSelection()
	return nil
}

// scrollToSelection moves the visible rows so that the selected panel shows.
func (v *runsView) scrollToSelection() {
	g := v.grid()
	i := v.c.selectedIndex()
	if i < 0 {
		v.offset = 0
		return
	}
	row := i / g.cols
	if row < v.offset {
		v.offset = row
	}
	if row >= v.offset+g.rows {
		v.offset = row - g.rows + 1
	}
	v.offset = min(max(0, v.offset), max(0, g.total-g.rows))
}

// position describes which panels are visible, for the footer.
func (v *runsView) position() string {
	n := v.c.store.len()
	if n == 0 {
		return ""
	}
	g := v.grid()
	first := v.offset * g.cols
	last := min(n, (v.offset+g.rows)*g.cols)
	if first == 0 && last == n {
		return plural(n, "run")
	}
	return fmt.Sprintf("runs %d-%d/%d", first+1, last, n)
}

func (v *runsView) view() string {
	c := v.c
	w, h := c.width, c.bodyHeight()
	list := c.store.list()
	if len(list) == 0 {
		dir := c.runsDir
		if dir == "" {
			dir = "the runs directory"
		}
		msg := fmt.Sprintf("No runs in %s yet.\n\nPress n to start one, ? for help.", dir)
		return center(c.styles.Dim.Render(msg), w, h)
	}
	v.scrollToSelection()
	g := v.grid()
	// Panels are exactly their size: join them line by line, without
	// measuring anything again.
	var out []string
	for r := 0; r < g.rows; r++ {
		ph := h / g.rows
		if r == g.rows-1 {
			ph = h - ph*(g.rows-1)
		}
		lines := make([]strings.Builder, ph)
		for col := 0; col < g.cols; col++ {
			pw := w / g.cols
			if col < w%g.cols {
				pw++
			}
			i := (v.offset+r)*g.cols + col
			if i >= len(list) {
				blank := strings.Repeat(" ", pw)
				for l := range lines {
					lines[l].WriteString(blank)
				}
				continue
			}
			run := list[i]
			for l, s := range strings.SplitN(panel(c, run, pw, ph, run.ID == c.selected), "\n", ph) {
				lines[l].WriteString(s)
			}
		}
		for l := range lines {
			out = append(out, lines[l].String())
		}
	}
	return strings.Join(out, "\n")
}
