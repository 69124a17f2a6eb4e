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
	h.ShortSeparator = "  "
	return h
}

// short is the footer's help for view vw.
func (v *helpView) short(vw view, w int) string {
	h := v.model()
	h.Width = w
	return h.ShortHelpView(v.c.keys.shortFor(vw))
}

func (v *helpView) view() string {
	st := v.c.styles
	w, h := v.c.width, v.c.bodyHeight()
	text := []string{
		st.Bold.Render("fmnist dashboard — keys"),
		"",
		v.model().FullHelpView(v.c.keys.FullHelp()),
		"",
		st.Bold.Render("Runs") + "   one panel per run: status, epoch, progress of the epoch in training",
		"       with images/s and the run's ETA, accuracy and loss per epoch.",
		st.Bold.Render("Table") + "  every run in the runs directory. ←→ choose a column, s sorts by it",
		"       (s again reverses), 1-9 and 0 sort by the Nth column; enter focuses.",
		"       * marks the best test accuracy and the fastest s/epoch.",
		st.Bold.Render("Focus") + "  one run: large charts, every epoch, recipe and layers; ←→ other run.",
		st.Bold.Render("Charts") + " x axis: epoch. " + curves(st),
		st.Bold.Render("Quit") + "   with runs active, q asks first; quitting cancels them.",
		"",
		st.Dim.Render("? or esc closes this help"),
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
