package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
)

// helpView is the full key reference and a few words on what is shown.
type helpView struct {
	c *common
}

func (v *helpView) model() help.Model {
	st := v.c.styles
	h := help.New()
	h.Width = v.c.width
	h.Styles.FullKey = st.KeyHelp
	h.Styles.FullDesc = st.DescHelp
	h.Styles.FullSeparator = st.Dim
	h.Styles.ShortKey = st.KeyHelp
	h.Styles.ShortDesc = st.DescHelp
	h.Styles.ShortSeparator = st.Dim
	h.Styles.Ellipsis = st.Dim
	h.ShortSeparator = footerSep
	return h
}

// short is the footer's help for view vw.
func (v *helpView) short(vw view, w int) string {
	h := v.model()
	h.Width = w
	return h.ShortHelpView(v.c.keys.shortFor(vw, w))
}

// view is the help screen: the key table's bindings (FullHelp), then what
// each view shows, its keys named as the table names them.
func (v *helpView) view() string {
	st, k := v.c.styles, v.c.keys
	w, h := v.c.width, v.c.bodyHeight()
	leftRight, sort := hintLabel(k.Left, k.Right), hintLabel(k.Sort)
	nth := strings.ReplaceAll(hintLabel(k.SortColumn), ",", " and ") // 1-9 and 0
	text := []string{
		st.Bold.Render("fmnist dashboard — keys"),
		"",
		v.model().FullHelpView(k.FullHelp()),
		"",
		st.Bold.Render("Runs") + "    one panel per run: status, progress, images/s, ETA, accuracy and loss.",
		st.Bold.Render("Table") + "   every run in the runs directory. " + leftRight + " choose a column, " + sort + " sorts by it",
		"        (" + sort + " again reverses), " + nth + " sort by the Nth column; " + hintLabel(k.Focus) + " focuses.",
		"        * marks the best accuracy and s/epoch; " + hintLabel(k.Group) + " groups seeds: mean ± sd, n.",
		st.Bold.Render("Focus") + "   one run: charts, best model, epochs; " + leftRight + " other run; " + hintLabel(k.Group) + " seeds' mean.",
		st.Bold.Render("Compare") + " runs marked (" + markGlyph + ") with " + hintLabel(k.Mark) + ", else each model's best run; " +
			hintLabel(k.TrainCurves) + ": train curves.",
		"        " + compareRuns(st),
		st.Bold.Render("Charts") + "  x axis: epoch. " + curves(st),
		st.Bold.Render("Quit") + "    with runs active, " + hintLabel(k.Quit) + " asks first; quitting cancels them.",
		"",
		st.Dim.Render(k.closeHelp()),
	}
	return center(strings.Join(text, "\n"), w, h)
}

// curves explains the two curves of every chart.
func curves(st *Styles) string {
	if st.NoColor {
		return st.legendKey(true) + " train (dotted), " + st.legendKey(false) + " test (solid)."
	}
	return st.legendKey(true) + " train (blue), " + st.legendKey(false) + " test (orange)."
}

// compareRuns explains how the Compare view tells its runs apart.
func compareRuns(st *Styles) string {
	if st.NoColor {
		return "Each run has a line (━ ╍ ┄ in turn) and a label (1-9, a-z) at its end."
	}
	return "Each run has a colour of its own and a label (1-9, a-z) at its end."
}
