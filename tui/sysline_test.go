package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	"fmnist/trainer"
)

func TestSparkline(t *testing.T) {
	cases := []struct {
		vs    []float64
		width int
		want  string
	}{
		{nil, 10, ""},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 10, "▁▂▃▄▅▆▇█"},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 3, "▆▇█"},                    // the last three, scaled to the largest shown
		{[]float64{0, 3200, 3200, 1450, math.NaN(), 1600}, 10, " ██▄ ▄"}, // nothing training: blank
		{[]float64{5, 5, 5}, 10, "███"},
		{[]float64{100, 1}, 10, "█▁"}, // a tiny speed still shows
		{[]float64{-1, 0}, 10, "  "},
		{[]float64{1, 2}, 0, ""},
	}
	for _, c := range cases {
		if got := sparkline(c.vs, c.width); got != c.want {
			t.Errorf("sparkline(%v, %d) = %q, want %q", c.vs, c.width, got, c.want)
		}
	}
}

// A /proc/self/stat line whose command holds spaces and parentheses: the
// CPU time is utime + stime (fields 14 and 15) counted after the last ")".
func TestParseProcStat(t *testing.T) {
	line := "4242 (fmnist (a) b) S 1 4242 4242 34816 4242 4194304 31337 0 12 0 1520 311 0 0 20 0 9 0 123456 2147483648 54321 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	ticks, err := parseProcStat(line)
	if err != nil || ticks != 1520+311 {
		t.Errorf("parseProcStat = %d, %v; want 1831", ticks, err)
	}
	for _, bad := range []string{"", "4242 fmnist S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 u 311"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) gives no error", bad)
		}
	}
	pages, err := parseStatm("524288 54321 2048 512 0 300000 0\n")
	if err != nil || pages != 54321 {
		t.Errorf("parseStatm = %d, %v; want 54321", pages, err)
	}
	if _, err := parseStatm("524288"); err == nil {
		t.Error("parseStatm of one field gives no error")
	}
	// 150 ticks (1.5 s of CPU) in one second: 150% of a core.
	if p := cpuPercent(1000, 1150, time.Second); p != 150 {
		t.Errorf("cpuPercent = %v, want 150", p)
	}
	if p := cpuPercent(1000, 1150, 0); !math.IsNaN(p) {
		t.Errorf("cpuPercent over no time = %v, want NaN", p)
	}
	if megabytes(54321*4096, false) != "212 MiB" || megabytes(54321*4096, true) != "212M" {
		t.Errorf("megabytes: %q %q", megabytes(54321*4096, false), megabytes(54321*4096, true))
	}
}

// On Linux the sampler reads this process: some memory, and the CPU from
// the second sample on.
func TestProcSampler(t *testing.T) {
	s := ProcSampler()
	if s == nil {
		t.Skip("no /proc")
	}
	a := s()
	if !a.OK || a.RSS < 1<<20 || !math.IsNaN(a.CPU) {
		t.Fatalf("first sample %+v", a)
	}
	time.Sleep(20 * time.Millisecond)
	if b := s(); !b.OK || math.IsNaN(b.CPU) || b.CPU < 0 {
		t.Errorf("second sample %+v", b)
	}
}

// queueETA on the fixture: model5 runs (2m34s left), reduced_all_cnn waits
// without planned epochs (unknown: a lower bound). With its epochs planned
// and a finished run of its model in this process, the estimate is whole:
// planned epochs times that model's mean seconds per epoch.
func TestQueueETA(t *testing.T) {
	s := newStore()
	s.mergeDisk(fixDiskRuns())
	for _, ev := range fixEvents() {
		s.apply(ev)
	}
	sec, lower, active := queueETA(s.list())
	if !active || !lower || duration(sec) != "2m34s" {
		t.Errorf("fixture: %s lower %v active %v, want 2m34s, a lower bound", duration(sec), lower, active)
	}

	s.apply(trainer.RunQueued{ID: "CNN2-b", Model: "CNN2", Index: 5, Epochs: 4}) // CNN2 finished 5 epochs of 18.6 s here
	s.get("reduced_all_cnn-20260301-120000").EpochsPlanned = 0
	s.apply(trainer.RunFinished{ID: "reduced_all_cnn-20260301-120000", Status: trainer.StatusCancelled})
	sec, lower, _ = queueETA(s.list())
	var cnn2 float64
	for _, e := range s.get("CNN2-20260301-120000").Epochs {
		cnn2 += e.TrainSeconds + e.EvalSeconds
	}
	want := s.get("model5-20260301-120000").eta() + 4*cnn2/5
	if lower || math.Abs(sec-want) > 1e-9 {
		t.Errorf("with CNN2 queued for 4 epochs: %v lower %v, want %v", sec, lower, want)
	}

	// Just started, no pace of its own yet: still its model's.
	s.apply(trainer.RunStarted{ID: "CNN2-b", Model: "CNN2", Epochs: 4})
	if sec2, lower, _ := queueETA(s.list()); lower || math.Abs(sec2-want) > 1e-9 {
		t.Errorf("CNN2-b started: %v lower %v, want %v", sec2, lower, want)
	}

	// A model trained only in other processes: their finished runs' mean.
	s.apply(trainer.RunQueued{ID: "CNN2_dropout-b", Model: "CNN2_dropout", Index: 6, Epochs: 2})
	sec2, lower, _ := queueETA(s.list())
	if lower || math.Abs(sec2-sec-2*66) > 0.5 {
		t.Errorf("with CNN2_dropout queued for 2 epochs: %v more, want about 132 s (66 s an epoch on disk)", sec2-sec)
	}
	if _, _, active := queueETA(newStore().list()); active {
		t.Error("no runs: active")
	}
}

// The system line fits the title bar at 80 columns beside the tabs, and
// shows everything, with the run count and directory, at 160.
func TestSystemLineInHeader(t *testing.T) {
	m := newTestModel(t, &fakeCtrl{active: 2}, 80, 24)
	for range 3 {
		m.Update(sysTickMsg{})
	}
	head := strings.Split(m.View(), "\n")[0]
	for _, want := range []string{"[Runs]", "cpu 97%", "rss 212M", "███ 1450/s", "ETA ≥2m34s"} {
		if !strings.Contains(head, want) {
			t.Errorf("80 columns: %q lacks %q", head, want)
		}
	}
	if w := cellWidth(head); w != 80 {
		t.Errorf("title bar %d cells wide", w)
	}
	m.Update(teaSize(160, 48))
	head = strings.Split(m.View(), "\n")[0]
	if !strings.HasSuffix(head, "cpu 97% · rss 212 MiB · ███ 1,450 img/s · ETA ≥ 2m34s · 5 runs · 2 active · runs") {
		t.Errorf("160 columns: %q", head)
	}
	// Where nothing can be measured, nothing is said.
	m = New(Options{Runs: fixDiskRuns(), Now: fixNow, Frame: -1, System: func() SysSample { return SysSample{} }, SysEvery: -1})
	m.Update(teaSize(160, 48))
	if head := strings.Split(m.View(), "\n")[0]; strings.Contains(head, "cpu") || strings.Contains(head, "rss") || !strings.HasSuffix(head, "2 runs") {
		t.Errorf("no measures: %q", head)
	}
}
