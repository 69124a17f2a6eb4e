package tui

import (
	"fmt"
	"io"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"fmnist/trainer"
)

// BenchmarkViewWhileTraining: one redraw after a progress report, as the
// dashboard does at most 10 times a second while training.
func BenchmarkViewWhileTraining(b *testing.B) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		b.Run(fmtSize(sz), func(b *testing.B) {
			r := lipgloss.NewRenderer(io.Discard)
			r.SetColorProfile(termenv.ANSI256)
			r.SetHasDarkBackground(true)
			m := New(Options{RunsDir: "runs", Runs: fixDiskRuns(), Now: fixNow, Frame: -1, Renderer: r})
			m.Update(teaSize(sz[0], sz[1]))
			m.Update(eventsMsg(fixEvents()))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Update(eventsMsg{trainer.BatchProgress{ID: "model5-20260301-120000", Epoch: 3, Epochs: 6, Batch: i%59 + 1, Batches: 59, ImagesPerSec: 1450}})
				_ = m.View()
			}
		})
	}
}

func fmtSize(sz [2]int) string { return fmt.Sprintf("%dx%d", sz[0], sz[1]) }
