package detector

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Report is what `detect --json` writes: the run's settings, every frame's
// boxes and stage times, and the summary.
type Report struct {
	Input        string      `json:"input"`
	Output       string      `json:"output"`
	Model        string      `json:"model"`
	Mode         string      `json:"mode"`
	SeedPipeline bool        `json:"seed_pipeline"`
	Threshold    float64     `json:"threshold"`
	Background   bool        `json:"background_class"` // the model rejects regions as background
	Width        int         `json:"width"`
	Height       int         `json:"height"`
	FPS          float64     `json:"fps"`
	MinSize      int         `json:"min_region_px"`
	Settings                 // proposal_side, max_aspect, ..., fill_gaps
	Frames       []FrameDone `json:"frames"`
	Summary      *Summary    `json:"summary"`
}

// Add records an event.
func (r *Report) Add(ev Event) {
	switch e := ev.(type) {
	case Started:
		r.Input, r.Output, r.Mode, r.SeedPipeline = e.In, e.Out, e.Mode, e.SeedPipeline
		r.Width, r.Height, r.FPS, r.MinSize = e.W, e.H, e.FPS, e.MinSize
		r.Threshold, r.Background, r.Settings = e.Threshold, e.Background, e.Settings
	case FrameDone:
		e.Thumb = nil // not written, and not kept for the length of the video
		r.Frames = append(r.Frames, e)
	case Summary:
		r.Summary = &e
	}
}

// Plain prints headless progress: a line every Every frames and the summary.
type Plain struct {
	W     io.Writer
	Every int
	total StageMillis
	n     int
	dets  int
	bg    bool
}

// Handle prints what an event calls for.
func (p *Plain) Handle(ev Event) {
	every := max(1, p.Every)
	switch e := ev.(type) {
	case Started:
		pipe := "ours"
		if e.SeedPipeline {
			pipe = "seed's"
		}
		model := "ten-class model"
		if e.Background {
			model = "detection model (background class)"
		}
		p.bg = e.Background
		fmt.Fprintf(p.W, "detect %s -> %s: %dx%d at %.3g fps, %s selective search, %s pipeline, regions >= %d px, %s, threshold %.2f\n",
			e.In, e.Out, e.W, e.H, e.FPS, e.Mode, pipe, e.MinSize, model, e.Threshold)
	case FrameDone:
		p.n++
		p.dets += len(e.Boxes)
		p.total.add(e.Millis, 1)
		if (e.Index+1)%every == 0 {
			bg := ""
			if p.bg {
				bg = fmt.Sprintf("  %3d background", e.Background)
			}
			fps := ""
			if s := e.Elapsed.Seconds(); s > 0 {
				fps = fmt.Sprintf("  %5.1f frames/s", float64(p.n)/s)
			}
			fmt.Fprintf(p.W, "frame %4d  %3d proposals  %3d regions%s  %3d labelled so far  %5.1f ms/frame%s\n",
				e.Index+1, e.Proposals, e.Regions, bg, p.dets, p.total.Total/float64(p.n), fps)
		}
	case Summary:
		WriteSummary(p.W, e)
	}
}

// WriteSummary prints a summary in a few lines. An error that ended the run
// (s.Err) is not among them: the caller reports it, once.
func WriteSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "frames %d, labelled %d, detections %d, %.1f frames/s (%.2f s)\n",
		s.Frames, s.FramesLabelled, s.Detections, s.FPS, s.Seconds)
	if s.Background > 0 {
		fmt.Fprintf(w, "regions rejected as background: %d (%.1f a frame)\n", s.Background, float64(s.Background)/float64(max(1, s.Frames)))
	}
	m := s.MeanMillis
	fmt.Fprintf(w, "mean ms/frame: decode %.1f, proposals %.1f, prepare %.1f, classify %.1f, draw+write %.1f, total %.1f\n",
		m.Decode, m.Proposals, m.Prepare, m.Classify, m.DrawWrite, m.Total)
	if len(s.PerClass) > 0 {
		var parts []string
		for _, k := range sortedKeys(s.PerClass) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.PerClass[k]))
		}
		fmt.Fprintf(w, "detections per class: %s\n", strings.Join(parts, ", "))
	}
	if mt := s.Metrics; mt != nil {
		o := mt.Overall
		fmt.Fprintf(w, "against truth (%d frames, %d items): precision %.3f, recall %.3f, mean IoU %.3f (TP %d, FP %d, FN %d)\n",
			mt.FramesEvaluated, mt.TruthItems, o.Precision, o.Recall, o.MeanIoU, o.TP, o.FP, o.FN)
		for _, k := range sortedKeys(mt.PerClass) {
			c := mt.PerClass[k]
			fmt.Fprintf(w, "  %-12s precision %.3f  recall %.3f  mean IoU %.3f  (TP %d, FP %d, FN %d)\n",
				k, c.Precision, c.Recall, c.MeanIoU, c.TP, c.FP, c.FN)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
