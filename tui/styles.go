package tui

import (
	"strconv"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"fmnist/trainer"
)

// Colours that read on dark and on light backgrounds. Train and test are
// blue and orange, which colour-blind readers also tell apart.
var (
	colTrain     = lipgloss.AdaptiveColor{Light: "#1D4ED8", Dark: "#60A5FA"}
	colTest      = lipgloss.AdaptiveColor{Light: "#C2410C", Dark: "#FB923C"}
	colAccent    = lipgloss.AdaptiveColor{Light: "#7C3AED", Dark: "#C4B5FD"}
	colDim       = lipgloss.AdaptiveColor{Light: "#6B7280", Dark: "#9CA3AF"}
	colFaint     = lipgloss.AdaptiveColor{Light: "#D1D5DB", Dark: "#4B5563"}
	colGood      = lipgloss.AdaptiveColor{Light: "#15803D", Dark: "#4ADE80"}
	colBad       = lipgloss.AdaptiveColor{Light: "#B91C1C", Dark: "#F87171"}
	colWarn      = lipgloss.AdaptiveColor{Light: "#A16207", Dark: "#FACC15"}
	colRunning   = lipgloss.AdaptiveColor{Light: "#0369A1", Dark: "#38BDF8"}
	colOnBadge   = lipgloss.AdaptiveColor{Light: "#FFFFFF", Dark: "#111827"}
	colSelection = lipgloss.AdaptiveColor{Light: "#EDE9FE", Dark: "#3B3560"}
)

// colRuns are the Compare view's colours, one per run in turn: eight hues
// far apart, each a dark shade for light backgrounds and a light one for
// dark backgrounds.
var colRuns = []lipgloss.AdaptiveColor{
	{Light: "#1D4ED8", Dark: "#60A5FA"}, // blue
	{Light: "#C2410C", Dark: "#FB923C"}, // orange
	{Light: "#15803D", Dark: "#4ADE80"}, // green
	{Light: "#BE185D", Dark: "#F472B6"}, // pink
	{Light: "#0E7490", Dark: "#22D3EE"}, // cyan
	{Light: "#A16207", Dark: "#FACC15"}, // yellow
	{Light: "#6D28D9", Dark: "#A78BFA"}, // violet
	{Light: "#B91C1C", Dark: "#F87171"}, // red
}

// Styles are every style the dashboard uses, built for one renderer: the
// local terminal's, or, under `fmnist serve`, the SSH session's, so that
// each session gets its own terminal's colours. Without colour
// (NO_COLOR, or a terminal without colours) nothing carries colour codes and
// the few things that colour alone would tell apart get a textual mark:
// status badges in brackets, the train curve dotted, the Compare view's runs
// in line patterns of their own (runStyle).
type Styles struct {
	r       *lipgloss.Renderer
	NoColor bool
	Profile termenv.Profile
	Dark    bool // background is dark; picks the progress bar's colour

	Train, Test        lipgloss.Style
	Bold, Dim, Faint   lipgloss.Style
	Accent, Good, Bad  lipgloss.Style
	Warn, Running      lipgloss.Style
	Title              lipgloss.Style
	TabActive, Tab     lipgloss.Style
	Panel, PanelActive lipgloss.Style
	Dialog             lipgloss.Style
	Axis, AxisLabel    lipgloss.Style
	Header, Selected   lipgloss.Style
	Best               lipgloss.Style
	KeyHelp, DescHelp  lipgloss.Style
	// Runs are the Compare view's per-run colours (colRuns), used in turn.
	Runs  []lipgloss.Style
	badge map[string]lipgloss.Style
}

// NewStyles builds the styles for renderer r (nil: lipgloss's default
// renderer, which honours NO_COLOR).
func NewStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	prof := r.ColorProfile()
	s := &Styles{r: r, Profile: prof, NoColor: prof == termenv.Ascii}
	if !s.NoColor {
		s.Dark = r.HasDarkBackground()
	}
	n := r.NewStyle
	// Colours are resolved once, for this renderer's profile and background,
	// rather than converted from hex at every render.
	colTrain, colTest, colAccent, colDim, colFaint := s.resolve(colTrain), s.resolve(colTest), s.resolve(colAccent), s.resolve(colDim), s.resolve(colFaint)
	colGood, colBad, colWarn, colRunning := s.resolve(colGood), s.resolve(colBad), s.resolve(colWarn), s.resolve(colRunning)
	colOnBadge, colSelection := s.resolve(colOnBadge), s.resolve(colSelection)
	s.Train = n().Foreground(colTrain)
	s.Test = n().Foreground(colTest)
	s.Bold = n().Bold(true)
	s.Dim = n().Foreground(colDim)
	s.Faint = n().Foreground(colFaint)
	s.Accent = n().Foreground(colAccent).Bold(true)
	s.Good = n().Foreground(colGood)
	s.Bad = n().Foreground(colBad)
	s.Warn = n().Foreground(colWarn)
	s.Running = n().Foreground(colRunning)
	s.Title = n().Bold(true)
	s.TabActive = n().Bold(true).Foreground(colOnBadge).Background(colAccent)
	s.Tab = n().Foreground(colDim)
	s.Panel = n().Border(lipgloss.RoundedBorder()).BorderForeground(colFaint)
	s.PanelActive = n().Border(lipgloss.ThickBorder()).BorderForeground(colAccent)
	s.Dialog = n().Border(lipgloss.DoubleBorder()).BorderForeground(colAccent).Padding(0, 1)
	s.Axis = n().Foreground(colDim)
	s.AxisLabel = n().Foreground(colDim)
	s.Header = n().Bold(true)
	s.Selected = n().Background(colSelection)
	s.Best = n().Foreground(colGood).Bold(true)
	s.KeyHelp = n().Foreground(colAccent)
	s.DescHelp = n().Foreground(colDim)
	for _, c := range colRuns {
		s.Runs = append(s.Runs, n().Foreground(s.resolve(c)))
	}
	s.badge = map[string]lipgloss.Style{}
	for st, c := range map[string]lipgloss.Color{
		trainer.StatusQueued: colDim, trainer.StatusRunning: colRunning, trainer.StatusDone: colGood,
		trainer.StatusFailed: colBad, trainer.StatusCancelled: colWarn,
	} {
		s.badge[st] = n().Background(c).Foreground(colOnBadge).Bold(true).Padding(0, 1)
	}
	return s
}

// resolve picks ac's variant for the background and converts it to the
// colour profile (e.g. the nearest of 256 colours) once.
func (s *Styles) resolve(ac lipgloss.AdaptiveColor) lipgloss.Color {
	hex := ac.Light
	if s.Dark {
		hex = ac.Dark
	}
	switch c := s.Profile.Convert(termenv.RGBColor(hex)).(type) {
	case termenv.ANSI256Color:
		return lipgloss.Color(strconv.Itoa(int(c)))
	case termenv.ANSIColor:
		return lipgloss.Color(strconv.Itoa(int(c)))
	}
	return lipgloss.Color(hex)
}

// Badge renders a status as a badge: a coloured label, or "[status]"
// without colour. Both are len(status)+2 cells wide.
func (s *Styles) Badge(status string) string {
	if status == "" {
		status = "unknown"
	}
	if s.NoColor {
		return "[" + status + "]"
	}
	st, ok := s.badge[status]
	if !ok {
		st = s.badge[trainer.StatusQueued]
	}
	return st.Render(status)
}

// StatusStyle is the text colour of a status.
func (s *Styles) StatusStyle(status string) lipgloss.Style {
	switch status {
	case trainer.StatusRunning:
		return s.Running
	case trainer.StatusDone:
		return s.Good
	case trainer.StatusFailed:
		return s.Bad
	case trainer.StatusCancelled:
		return s.Warn
	}
	return s.Dim
}

// progressColour is the bar's fill colour, resolved for the profile.
func (s *Styles) progressColour() string { return string(s.resolve(colRunning)) }

// emptyColour is the bar's empty part.
func (s *Styles) emptyColour() string { return string(s.resolve(colFaint)) }

// legendKey is the sample of a series' line shown in legends: a solid line
// for test, a dotted one for train (the train curve is drawn dotted when
// there is no colour).
func (s *Styles) legendKey(train bool) string {
	if train {
		if s.NoColor {
			return "┄"
		}
		return s.Train.Render("━")
	}
	if s.NoColor {
		return "━"
	}
	return s.Test.Render("━")
}

// runMarks are the one-cell labels of the Compare view's runs, in turn.
const runMarks = "123456789abcdefghijklmnopqrstuvwxyz"

// runStyle is how the Compare view draws its i-th run: a colour of Runs in
// turn, a label (1-9, then a-z) beside the curve's latest point, and, for
// lack of colour, a line pattern of its own in turn (solid, dashed,
// dotted); with colour every line is solid.
func (s *Styles) runStyle(i int) (style lipgloss.Style, label string, p linePattern) {
	label = string(runMarks[i%len(runMarks)])
	if s.NoColor {
		return s.r.NewStyle(), label, linePattern(i % 3)
	}
	return s.Runs[i%len(s.Runs)], label, solid
}

// runKey is the legend's sample of the i-th run of the Compare view: its
// label and a piece of its line, "1 ━━", "2 ╍╍" or "3 ┄┄" without colour.
func (s *Styles) runKey(i int) string {
	style, label, p := s.runStyle(i)
	line := map[linePattern]string{solid: "━━", dashed: "╍╍", dotted: "┄┄"}[p]
	if s.NoColor {
		return label + " " + line
	}
	return style.Render(label + " " + line)
}
