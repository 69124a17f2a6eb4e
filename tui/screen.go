package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"
)

// Terminal control sequences the screen uses.
const (
	seqAltScreen    = "\x1b[?1049h"
	seqMainScreen   = "\x1b[?1049l"
	seqHideCursor   = "\x1b[?25l"
	seqShowCursor   = "\x1b[?25h"
	seqClearScreen  = "\x1b[2J"
	seqEraseLine    = "\x1b[K" // to the right of the cursor
	seqEraseBelow   = "\x1b[J"
	seqResetStyle   = "\x1b[0m"
	seqCursorAtLine = "\x1b[%d;1H"
)

// Screen draws a Model on a terminal with a renderer of its own: after each
// update it rewrites the lines of the view that changed, at once, and it
// never wakes up otherwise. Bubble Tea's standard renderer wakes up at a
// fixed frame rate (60 a second by default) whether or not anything changed,
// and while a run trains every wake-up of any goroutine costs the trainer
// time (see DefaultFrame): measured on 2 cores, a bare 60 Hz ticker alone
// slowed training by 8%. Screen is the program's model; its View is empty (the
// program runs without a renderer) and it passes everything to the Model.
type Screen struct {
	m     *Model
	out   io.Writer
	shown []string // the lines on the terminal; nil: unknown (repaint all)
}

// NewScreen returns a Screen drawing m on out.
func NewScreen(m *Model, out io.Writer) *Screen { return &Screen{m: m, out: out} }

// Open takes the terminal over: the alternate screen, cleared, without a
// cursor. Close gives it back as it was.
func (s *Screen) Open() { io.WriteString(s.out, seqAltScreen+seqHideCursor+seqClearScreen) }

// Close restores the terminal Open took over.
func (s *Screen) Close() { io.WriteString(s.out, seqResetStyle+seqShowCursor+seqMainScreen) }

// Model is the dashboard the screen shows.
func (s *Screen) Model() *Model { return s.m }

// Init starts the dashboard.
func (s *Screen) Init() tea.Cmd { return s.m.Init() }

// Update passes msg to the dashboard and redraws what changed.
func (s *Screen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tea.WindowSizeMsg); ok {
		s.shown = nil // the terminal may have reflowed anything
	}
	_, cmd := s.m.Update(msg)
	s.draw()
	return s, cmd
}

// View is empty: the screen draws by itself.
func (s *Screen) View() string { return "" }

// draw writes the lines of the view that differ from those shown.
func (s *Screen) draw() {
	lines := strings.Split(s.m.View(), "\n")
	var b strings.Builder
	if s.shown == nil {
		b.WriteString(seqClearScreen)
	}
	for i, l := range lines {
		if s.shown != nil && i < len(s.shown) && s.shown[i] == l {
			continue
		}
		fmt.Fprintf(&b, seqCursorAtLine, i+1)
		b.WriteString(l)
		b.WriteString(seqResetStyle)
		if cellWidth(l) < s.m.c.width {
			// Only short lines: after the last column the cursor stays on
			// it, and erasing would take the last character.
			b.WriteString(seqEraseLine)
		}
	}
	if s.shown != nil && len(lines) < len(s.shown) {
		fmt.Fprintf(&b, seqCursorAtLine, len(lines)+1)
		b.WriteString(seqEraseBelow)
	}
	s.shown = lines
	if b.Len() > 0 {
		io.WriteString(s.out, b.String())
	}
}

// RunScreen runs dashboard m full screen on the terminal out (keys from
// standard input, or from /dev/tty when standard input is not a terminal)
// until it quits or ctx ends, then restores the terminal.
func RunScreen(ctx context.Context, m *Model, out *os.File) error {
	in := os.Stdin
	if !term.IsTerminal(in.Fd()) {
		tty, err := os.Open("/dev/tty")
		if err != nil {
			return fmt.Errorf("no terminal to read keys from: %w", err)
		}
		defer tty.Close()
		in = tty
	}
	state, err := term.MakeRaw(in.Fd())
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(in.Fd(), state)
	io.WriteString(out, seqAltScreen+seqHideCursor+seqClearScreen)
	defer io.WriteString(out, seqResetStyle+seqShowCursor+seqMainScreen)

	p := tea.NewProgram(NewScreen(m, out), tea.WithoutRenderer(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx))
	// Without a renderer Bubble Tea does not watch the terminal's size.
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			if w, h, err := term.GetSize(out.Fd()); err == nil {
				p.Send(tea.WindowSizeMsg{Width: w, Height: h})
			}
			select {
			case <-winch:
			case <-done:
				return
			}
		}
	}()
	_, err = p.Run()
	return err
}
