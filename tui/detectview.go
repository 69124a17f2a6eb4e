package tui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"fmnist/detector"
	"fmnist/trainer"
)

// detectListMax is how many labelled frames the detector view keeps.
const detectListMax = 200

// The picture of the latest frame (its thumbnail, the frame as written):
// from detectWide columns on it stands between the labelled frames (at
// least listMinWidth wide) and the counts, else above the labelled frames
// (which keep listMinLines lines), as large as the room allows, never
// enlarged. With less room than picMinLines lines or picMinWidth cells it is
// left out.
const (
	detectWide   = 140
	listMinWidth = 40
	listMinLines = 3 // the header and two frames
	picMinLines  = 4
	picMinWidth  = 16
)

// DetectOptions configure a DetectView.
type DetectOptions struct {
	In     string // input video
	Model  string // model directory
	Total  int    // frames in the video; 0: unknown
	Events <-chan detector.Event
	// Cancel stops the detection (q before the end); may be nil.
	Cancel func()
	Styles *Styles // nil: the default renderer's (honours NO_COLOR)
}

// detectEventMsg carries one detector event to the view.
type detectEventMsg struct{ ev detector.Event }

// detectClosedMsg: the event channel closed.
type detectClosedMsg struct{}

// DetectView is the detector's terminal view: progress through the video,
// frames per second, stage times, a picture of the latest frame with its
// boxes, the latest labelled frames, counts per class and, at the end, the
// summary.
type DetectView struct {
	opt           DetectOptions
	st            *Styles
	keys          *keyMap // the dashboard's key table: Quit, Help and Back
	width, height int
	started       *detector.Started
	done          int // frames processed
	labelled      int // frames with at least one label
	stage         detector.StageMillis
	list          []string // latest labelled frames, oldest first
	counts        [trainer.NumClasses]int
	last          detector.FrameDone // the latest frame
	regions, bg   int                // regions classified and rejected as background, all frames
	thumb         RGB                // the latest thumbnail (W 0: none yet)
	thumbFrame    int                // its frame's index
	pic           []string           // the thumbnail drawn, for picKey
	picKey        [3]int             // thumbFrame, width and lines of pic
	summary       *detector.Summary
	closed        bool
	cancelled     bool // q before the end
	help          bool
}

// NewDetectView returns the view of the events opt.Events delivers.
func NewDetectView(opt DetectOptions) *DetectView {
	st := opt.Styles
	if st == nil {
		st = NewStyles(nil)
	}
	return &DetectView{opt: opt, st: st, keys: newKeyMap()}
}

// Cancelled reports whether the user quit before the detection ended.
func (v *DetectView) Cancelled() bool { return v.cancelled }

// Init starts waiting for events.
func (v *DetectView) Init() tea.Cmd { return v.wait() }

func (v *DetectView) wait() tea.Cmd {
	ch := v.opt.Events
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return detectClosedMsg{}
		}
		return detectEventMsg{ev}
	}
}

// Update handles keys, the terminal size and detector events.
func (v *DetectView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.width, v.height = msg.Width, msg.Height
	case tea.KeyMsg:
		k := v.keys
		switch {
		case key.Matches(msg, k.Quit):
			if !v.finished() {
				v.cancelled = true
				if v.opt.Cancel != nil {
					v.opt.Cancel()
				}
			}
			return v, tea.Quit
		case key.Matches(msg, k.Help):
			v.help = !v.help
		case key.Matches(msg, k.Back):
			v.help = false
		}
	case detectEventMsg:
		v.Handle(msg.ev)
		return v, v.wait()
	case detectClosedMsg:
		v.closed = true
	}
	return v, nil
}

// Handle records one detector event.
func (v *DetectView) Handle(ev detector.Event) {
	switch e := ev.(type) {
	case detector.Started:
		v.started = &e
	case detector.FrameDone:
		v.done++
		k := 1 / float64(v.done)
		// running mean of the stage times
		v.stage.Decode += k * (e.Millis.Decode - v.stage.Decode)
		v.stage.Proposals += k * (e.Millis.Proposals - v.stage.Proposals)
		v.stage.Prepare += k * (e.Millis.Prepare - v.stage.Prepare)
		v.stage.Classify += k * (e.Millis.Classify - v.stage.Classify)
		v.stage.DrawWrite += k * (e.Millis.DrawWrite - v.stage.DrawWrite)
		v.stage.Total += k * (e.Millis.Total - v.stage.Total)
		v.last = e
		v.regions += e.Regions
		v.bg += e.Background
		if e.Thumb != nil {
			v.thumb, v.thumbFrame, v.pic = RGB(*e.Thumb), e.Index, nil
		}
		if len(e.Boxes) == 0 {
			return
		}
		v.labelled++
		parts := make([]string, len(e.Boxes))
		for i, b := range e.Boxes {
			parts[i] = fmt.Sprintf("%s %.2f", b.Label, b.Score)
			if b.Class >= 0 && b.Class < len(v.counts) {
				v.counts[b.Class]++
			}
		}
		v.list = append(v.list, fmt.Sprintf("frame %d: %s", e.Index, strings.Join(parts, ", ")))
		if len(v.list) > detectListMax {
			v.list = v.list[len(v.list)-detectListMax:]
		}
	case detector.Summary:
		v.summary = &e
	}
}

// Counts are the labels per class so far, indexed by class.
func (v *DetectView) Counts() [trainer.NumClasses]int { return v.counts }

// Labelled are the latest labelled frames, oldest first.
func (v *DetectView) Labelled() []string { return append([]string(nil), v.list...) }

func (v *DetectView) finished() bool { return v.summary != nil || v.closed }

// View draws the view.
func (v *DetectView) View() string {
	w, h := v.width, v.height
	if w == 0 && h == 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		return truncate(fmt.Sprintf("terminal too small (need %dx%d, have %dx%d)", minWidth, minHeight, w, h), w)
	}
	st := v.st
	var top []string
	// header
	mode := "?"
	if v.started != nil {
		mode = v.started.Mode
		if v.started.SeedPipeline {
			mode += ", seed pipeline"
		}
	}
	model := v.opt.Model
	if model != "" {
		model = filepath.Base(filepath.Dir(model)) + "/" + filepath.Base(model)
	}
	title := st.Title.Render("fmnist detect") + "  " + filepath.Base(v.opt.In)
	if v.started != nil && v.started.Out != "" {
		title += " → " + filepath.Base(v.started.Out)
	}
	top = append(top, spread(title, st.Dim.Render("mode "+mode), w))
	sub := "model " + model
	if v.started != nil {
		sub += fmt.Sprintf(" · %dx%d at %.3g fps · regions >= %d px", v.started.W, v.started.H, v.started.FPS, v.started.MinSize)
	} else {
		sub += " · opening…"
	}
	top = append(top, st.Dim.Render(truncate(sub, w)))
	top = append(top, "")
	// progress
	// Frames done over the time since the start: the stage times' sum
	// is not the rate, as proposals run ahead on another core.
	fps := 0.0
	if s := v.last.Elapsed.Seconds(); s > 0 {
		fps = float64(v.done) / s
	}
	var status string
	switch {
	case v.summary != nil && v.summary.Err != "":
		status = st.Bad.Render("ended early")
	case v.cancelled:
		status = st.Warn.Render("cancelling…")
	case v.finished():
		status = st.Good.Render("done")
	}
	total := max(v.opt.Total, v.done)
	if v.summary != nil && v.summary.Err == "" && !v.cancelled {
		total = v.done // the count read ahead may differ from the frames decoded
	}
	if total > 0 {
		frac := float64(v.done) / float64(total)
		right := fmt.Sprintf(" frame %d/%d  %.1f frames/s", v.done, total, fps)
		if !v.finished() && fps > 0 {
			right += "  ETA " + duration(float64(total-v.done)/fps)
		}
		if status != "" {
			right += "  " + status
		}
		barW := max(10, w-cellWidth(right)-1)
		top = append(top, truncate(progressBar(st, frac, barW)+right, w))
	} else {
		line := fmt.Sprintf("frame %d of ?  %.1f frames/s", v.done, fps)
		if status != "" {
			line += "  " + status
		}
		top = append(top, truncate(line, w))
	}
	ms := v.stage
	if w >= 110 {
		top = append(top, truncate(st.Dim.Render("mean ms/frame  ")+fmt.Sprintf("decode %.1f · proposals %.1f · prepare %.1f · classify %.1f · draw+write %.1f · total %.1f",
			ms.Decode, ms.Proposals, ms.Prepare, ms.Classify, ms.DrawWrite, ms.Total), w))
	} else {
		top = append(top, truncate(st.Dim.Render("ms: ")+fmt.Sprintf("decode %.1f  search %.1f  prepare %.1f  classify %.1f  write %.1f  total %.1f",
			ms.Decode, ms.Proposals, ms.Prepare, ms.Classify, ms.DrawWrite, ms.Total), w))
	}
	if v.done > 0 {
		boxes := fmt.Sprintf("%d boxes", len(v.last.Boxes))
		if len(v.last.Boxes) == 1 {
			boxes = "1 box"
		}
		line := fmt.Sprintf("frame %d: %d proposals, %d regions classified, %s", v.last.Index, v.last.Proposals, v.last.Regions, boxes)
		if v.started != nil && v.started.Background {
			line = fmt.Sprintf("frame %d: %d proposals, %d classified, %d rejected as background, %s · background %d of %d regions so far",
				v.last.Index, v.last.Proposals, v.last.Regions, v.last.Background, boxes, v.bg, v.regions)
			if w < 110 {
				line = fmt.Sprintf("frame %d: %d proposals · %d classified · %d background · %s",
					v.last.Index, v.last.Proposals, v.last.Regions, v.last.Background, boxes)
			}
		}
		top = append(top, truncate(st.Dim.Render(line), w))
	}
	top = append(top, "")

	// summary at the bottom
	var bottom []string
	if s := v.summary; s != nil {
		bottom = append(bottom, "", st.Bold.Render("Summary")+"  "+fmt.Sprintf("frames %d, labelled %d, detections %d, %.1f frames/s (%.2f s)",
			s.Frames, s.FramesLabelled, s.Detections, s.FPS, s.Seconds))
		if m := s.Metrics; m != nil {
			o := m.Overall
			bottom = append(bottom, fmt.Sprintf("against truth (%d frames, %d items): precision %.3f, recall %.3f, mean IoU %.3f (TP %d, FP %d, FN %d)",
				m.FramesEvaluated, m.TruthItems, o.Precision, o.Recall, o.MeanIoU, o.TP, o.FP, o.FN))
		}
		if s.Err != "" {
			bottom = append(bottom, st.Bad.Render("error: "+s.Err))
		}
		for i := range bottom {
			bottom[i] = truncate(bottom[i], w)
		}
	}
	footer := v.footer(w)

	bodyH := h - len(top) - len(bottom) - 1
	var body string
	if v.help {
		body = v.helpText(w, bodyH)
	} else {
		body = v.columns(w, bodyH)
	}
	out := append(top, strings.Split(fit(body, w, bodyH), "\n")...)
	out = append(out, bottom...)
	out = append(out, footer)
	return strings.Join(out, "\n")
}

// columns are the labelled frames (left) and the counts per class
// (right), with the picture of the latest frame between them (wide) or
// above the labelled frames.
func (v *DetectView) columns(w, h int) string {
	cw := 30 // counts column
	if w >= 120 {
		cw = 48
	}
	lw := w - cw - 3
	right := v.countsColumn(cw)
	if w >= detectWide {
		if pw, lines := v.picSize(lw-3-listMinWidth, h-1); pw > 0 {
			listW := lw - pw - 3
			return joinColumns(v.st, h, textCol{v.labelledColumn(listW, h), listW}, textCol{v.picture(pw, lines), pw}, textCol{right, cw})
		}
	} else if pw, lines := v.picSize(lw, h-1-listMinLines); pw > 0 {
		pic := v.picture(pw, lines)
		left := append(pic, v.labelledColumn(lw, h-len(pic))...)
		return joinColumns(v.st, h, textCol{left, lw}, textCol{right, cw})
	}
	return joinColumns(v.st, h, textCol{v.labelledColumn(lw, h), lw}, textCol{right, cw})
}

// countsColumn is the labels per class, cw cells wide: bars while running;
// at the end, with a truth file, precision, recall and (when there is room)
// mean IoU per class.
func (v *DetectView) countsColumn(cw int) []string {
	st := v.st
	var right []string
	if s := v.summary; s != nil && s.Metrics != nil && len(s.Metrics.PerClass) > 0 {
		wide := cw >= 36
		head := padRight("Labels per class", 17) + " prec  rec"
		if wide {
			head += "   IoU"
		}
		right = append(right, st.Header.Render(head))
		for i, name := range trainer.ClassNames {
			c := s.Metrics.PerClass[name]
			row := padRight(name, 12) + fmt.Sprintf("%5d %5.2f %4.2f", v.counts[i], c.Precision, c.Recall)
			if wide {
				row += fmt.Sprintf(" %5.2f", c.MeanIoU)
			}
			right = append(right, row)
		}
		return right
	}
	right = append(right, st.Header.Render("Labels per class"))
	most := 0
	for _, c := range v.counts {
		most = max(most, c)
	}
	barW := cw - 12 - 6
	for i, c := range v.counts {
		n := 0
		if most > 0 {
			n = (c*barW + most - 1) / most
		}
		bar := st.Running.Render(strings.Repeat("█", n)) + st.Faint.Render(strings.Repeat("·", barW-n))
		right = append(right, padRight(trainer.ClassNames[i], 12)+bar+padLeft(fmt.Sprint(c), 6))
	}
	return right
}

// picSize is the size of the picture of the latest frame in at most maxW
// cells and maxLines lines (two pixel rows a line), its aspect kept and
// never enlarged; 0, 0 without a thumbnail or room for one.
func (v *DetectView) picSize(maxW, maxLines int) (w, lines int) {
	t := v.thumb
	if t.W <= 0 || t.H <= 0 || maxW <= 0 {
		return 0, 0
	}
	lines = min(maxLines, maxW*t.H/(2*t.W), (t.H+1)/2)
	if lines < picMinLines {
		return 0, 0
	}
	w = min(maxW, t.W, (4*lines*t.W+t.H)/(2*t.H)) // 2*lines*W/H, rounded
	if w < picMinWidth {
		return 0, 0
	}
	return w, lines
}

// picture is the latest thumbnail in half blocks, w cells by lines lines,
// and its caption below; drawn again only for another frame or size.
func (v *DetectView) picture(w, lines int) []string {
	key := [3]int{v.thumbFrame, w, lines}
	if v.pic == nil || key != v.picKey {
		v.pic = HalfBlocksRGB(ScaleRGB(v.thumb, w, 2*lines), v.st.Profile)
		v.picKey = key
	}
	caption := v.st.Dim.Render(truncate(fmt.Sprintf("frame %d", v.thumbFrame), w))
	return append(v.pic[:len(v.pic):len(v.pic)], caption)
}

// labelledColumn is the column of the latest labelled frames.
func (v *DetectView) labelledColumn(lw, h int) []string {
	st := v.st
	var left []string
	left = append(left, st.Header.Render(fmt.Sprintf("Labelled frames (%d)", v.labelled)))
	rows := h - 1
	from := max(0, len(v.list)-rows)
	for _, l := range v.list[from:] {
		left = append(left, truncate(l, lw))
	}
	if len(v.list) == 0 {
		left = append(left, st.Dim.Render("none yet"))
	}
	return left
}

// textCol is a column of lines, w cells wide.
type textCol struct {
	lines []string
	w     int
}

// joinColumns puts columns side by side, h lines, a rule between them;
// each but the last is padded to its width.
func joinColumns(st *Styles, h int, cols ...textCol) string {
	rule := " " + st.Faint.Render("│") + " "
	lines := make([]string, h)
	for i := range lines {
		var b strings.Builder
		for j, c := range cols {
			l := ""
			if i < len(c.lines) {
				l = c.lines[i]
			}
			if j < len(cols)-1 {
				b.WriteString(padRight(l, c.w) + rule)
			} else {
				b.WriteString(l)
			}
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

func (v *DetectView) helpText(w, h int) string {
	st := v.st
	text := []string{st.Bold.Render("fmnist detect — keys"), ""}
	keys := v.keys.detectHelp()
	kw := 0
	for _, b := range keys {
		kw = max(kw, cellWidth(b.Help().Key))
	}
	for _, b := range keys {
		for i, desc := range strings.Split(b.Help().Desc, "\n") {
			label := ""
			if i == 0 {
				label = st.KeyHelp.Render(b.Help().Key)
			}
			text = append(text, padRight(label, kw)+"  "+st.DescHelp.Render(desc))
		}
	}
	text = append(text,
		"",
		"Progress is frames done of the video's frames; frames/s and the ETA",
		"count the frames done since the start. Labelled frames lists the",
		"latest frames with a label above the threshold, with probabilities.",
		"The picture is the latest frame written, its boxes and labels drawn,",
		"renewed up to four times a second, when there is room for it.",
		"",
		st.Dim.Render(v.keys.closeHelp()),
	)
	return center(strings.Join(text, "\n"), w, h)
}

// footer is the keys of the moment, from the key table.
func (v *DetectView) footer(w int) string {
	st := v.st
	var parts []string
	for _, b := range v.keys.detectShort(v.finished()) {
		parts = append(parts, st.KeyHelp.Render(b.Help().Key)+" "+st.DescHelp.Render(b.Help().Desc))
	}
	return truncate(strings.Join(parts, "  "), w)
}
