package tui

// The system line, in the title bar: the process's CPU and memory use, the
// training speed of the last minute as a sparkline, and the ETA of every run
// queued or running.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"fmnist/trainer"
)

// SysSample is the process's resource use: CPU as percent of one core since
// the previous sample (NaN until there is one) and resident memory in
// bytes. OK is false where it cannot be measured (not Linux): the title bar
// then shows neither.
type SysSample struct {
	CPU float64
	RSS uint64
	OK  bool
}

// SysSampler measures the process. The dashboard calls it from its event
// loop once per sysTickMsg (once a second), so it must be cheap.
type SysSampler func() SysSample

// speedSamples is how many training speeds the sparkline keeps: a minute
// at one a second.
const speedSamples = 60

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux for
// every architecture Go runs on.
const clockTicks = 100

// ProcSampler returns a sampler of this process (for an SSH session, the
// server, which trains) from /proc/self/stat (user plus system CPU time,
// between two calls) and /proc/self/statm (resident pages); nil where there
// is no /proc (not Linux).
func ProcSampler() SysSampler {
	if runtime.GOOS != "linux" {
		return nil
	}
	page := uint64(os.Getpagesize())
	var lastTicks uint64
	var lastAt time.Time
	return func() SysSample {
		stat, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			return SysSample{}
		}
		statm, err := os.ReadFile("/proc/self/statm")
		if err != nil {
			return SysSample{}
		}
		ticks, err1 := parseProcStat(string(stat))
		pages, err2 := parseStatm(string(statm))
		if err1 != nil || err2 != nil {
			return SysSample{}
		}
		now := time.Now()
		s := SysSample{CPU: math.NaN(), RSS: pages * page, OK: true}
		if !lastAt.IsZero() {
			s.CPU = cpuPercent(lastTicks, ticks, now.Sub(lastAt))
		}
		lastTicks, lastAt = ticks, now
		return s
	}
}

// parseProcStat is the CPU time (utime + stime, fields 14 and 15, in clock
// ticks) of a /proc/PID/stat line. The command (field 2) is in parentheses
// and may hold spaces and parentheses itself: fields are counted from the
// last ")".
func parseProcStat(line string) (uint64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command field")
	}
	f := strings.Fields(line[i+1:]) // from field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command", len(f))
	}
	utime, err := strconv.ParseUint(f[14-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat: utime: %v", err)
	}
	stime, err := strconv.ParseUint(f[15-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat: stime: %v", err)
	}
	return utime + stime, nil
}

// parseStatm is the resident set size, in pages, of a /proc/PID/statm line
// (its second field).
func parseStatm(line string) (uint64, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, errors.New("/proc statm: fewer than 2 fields")
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc statm: %v", err)
	}
	return n, nil
}

// cpuPercent is the CPU used between two readings of the CPU time, dt
// apart, as percent of one core (NaN for dt <= 0).
func cpuPercent(before, after uint64, dt time.Duration) float64 {
	if dt <= 0 || after < before {
		return math.NaN()
	}
	return float64(after-before) / clockTicks / dt.Seconds() * 100
}

// sparkBars are the sparkline's levels, lowest first.
var sparkBars = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values of vs (fewer if there are fewer)
// as bars from ▁ to █, scaled to the largest of them: a value is the bar
// whose eighth of that maximum it reaches. Zero, negative and NaN values
// (nothing training) are blanks.
func sparkline(vs []float64, width int) string {
	if width <= 0 || len(vs) == 0 {
		return ""
	}
	vs = vs[max(0, len(vs)-width):]
	top := 0.0
	for _, v := range vs {
		if v > top {
			top = v
		}
	}
	var b strings.Builder
	for _, v := range vs {
		if !(v > 0) {
			b.WriteByte(' ')
			continue
		}
		i := int(math.Ceil(v/top*float64(len(sparkBars)))) - 1
		b.WriteRune(sparkBars[min(max(i, 0), len(sparkBars)-1)])
	}
	return b.String()
}

// modelSecondsPerEpoch is the mean wall time of an epoch (training and
// evaluation) of model: over the finished epochs of this process's runs of
// it (they share its data), else over those of finished runs on disk; NaN
// if there are none.
func modelSecondsPerEpoch(runs []*runState, model string) float64 {
	for _, owned := range []bool{true, false} {
		var sum float64
		n := 0
		for _, r := range runs {
			if r.Model != model || r.Owned != owned || (!owned && r.Status != trainer.StatusDone) {
				continue
			}
			for _, e := range r.Epochs {
				sum += e.TrainSeconds + e.EvalSeconds
				n++
			}
		}
		if n > 0 {
			return sum / float64(n)
		}
	}
	return math.NaN()
}

// queueETA estimates the seconds until every run of this process that is
// queued or running has finished: the running runs' ETA, plus each queued
// run's planned epochs (those left of a run that has just started and has
// no pace of its own yet) times its model's mean seconds per epoch
// (modelSecondsPerEpoch). lower reports that some part is not known, so
// that the real figure is more; active that there is any run to wait for.
func queueETA(runs []*runState) (sec float64, lower, active bool) {
	for _, r := range runs {
		if !r.active() {
			continue
		}
		active = true
		s := math.NaN()
		if r.Status == trainer.StatusRunning {
			s = r.eta()
		}
		if left := r.planned() - r.done(); math.IsNaN(s) && left > 0 {
			// Queued, or just started: its model's pace.
			s = float64(left) * modelSecondsPerEpoch(runs, r.Model)
		}
		if math.IsNaN(s) {
			lower = true
			continue
		}
		sec += s
	}
	return sec, lower, active
}

// megabytes formats a byte count in MiB: "212 MiB", or "212M" when short.
func megabytes(b uint64, short bool) string {
	mib := thousands(float64(b) / (1 << 20))
	if short {
		return strings.ReplaceAll(mib, ",", "") + "M"
	}
	return mib + " MiB"
}

// systemParts are the pieces of the system line, in the order shown, each
// in a long and a short spelling; a piece not known (or, for the speed and
// the ETA, while no run of this process is queued or running) is "". The
// speed's spellings come after its sparkline (speedWith).
type systemParts struct {
	cpu, mem, speed, eta [2]string
	speeds               []float64
}

// systemParts are the system line's pieces now.
func (m *Model) systemParts() systemParts {
	p := systemParts{speeds: m.speeds}
	if s := m.sysLast; s.OK {
		if !math.IsNaN(s.CPU) {
			p.cpu = [2]string{fmt.Sprintf("cpu %.0f%%", s.CPU), fmt.Sprintf("cpu %.0f%%", s.CPU)}
		}
		if s.RSS > 0 {
			p.mem = [2]string{"rss " + megabytes(s.RSS, false), "rss " + megabytes(s.RSS, true)}
		}
	}
	// The speed while runs of this process are queued or running (and
	// trained at some point in the last minute).
	busy := false
	for _, v := range m.speeds {
		busy = busy || v > 0
	}
	if busy && m.c.store.active() > 0 {
		now := m.speeds[len(m.speeds)-1]
		p.speed = [2]string{thousands(now) + " img/s", strconv.Itoa(int(math.Round(now))) + "/s"}
	}
	if sec, lower, active := queueETA(m.c.store.list()); active {
		d := duration(sec)
		switch {
		case lower && sec == 0:
			p.eta = [2]string{"ETA ?", "ETA ?"}
		case lower:
			p.eta = [2]string{"ETA ≥ " + d, "ETA ≥" + d}
		default:
			p.eta = [2]string{"ETA " + d, "ETA " + d}
		}
	}
	return p
}

// speedWith is the speed's spelling i with a sparkline spark cells wide
// before it ("" when the speed is not shown).
func (p systemParts) speedWith(i, spark int) string {
	if p.speed[i] == "" {
		return ""
	}
	return sparkline(p.speeds, spark) + " " + p.speed[i]
}

// joinParts joins the pieces that are known (not "") with sep.
func joinParts(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// headerRight is the right part of the title bar, at most avail cells: the
// system line (CPU, memory, speed, ETA) and the run count and runs
// directory, as much as fits: first the directory goes, then the sparkline
// narrows and the spellings shorten, then the run count goes, then memory
// and CPU.
func (m *Model) headerRight(avail int) string {
	n, act := m.c.store.len(), m.c.store.active()
	runs := plural(n, "run")
	if act > 0 {
		runs += fmt.Sprintf(" · %d active", act)
	}
	dir := m.opts.RunsDir
	p := m.systemParts()
	long := func(spark int, more ...string) string {
		return joinParts(" · ", append([]string{p.cpu[0], p.mem[0], p.speedWith(0, spark), p.eta[0]}, more...)...)
	}
	short := func(sep string, spark int, more ...string) string {
		return joinParts(sep, append([]string{p.cpu[1], p.mem[1], p.speedWith(1, spark), p.eta[1]}, more...)...)
	}
	tries := []string{long(20, runs, dir), long(12, runs, dir), long(20, runs), long(12, runs), long(8, runs),
		short(" · ", 12, runs), short(" · ", 8, runs), short(" · ", 4, runs)}
	for _, spark := range []int{12, 8, 6, 4} {
		tries = append(tries, long(spark), short(" · ", spark), short(" ", spark))
	}
	tries = append(tries,
		joinParts(" ", p.cpu[1], p.speedWith(1, 4), p.eta[1]),
		joinParts(" ", p.speedWith(1, 4), p.eta[1]),
		p.eta[1])
	for _, s := range tries {
		if cellWidth(s) <= avail {
			return s
		}
	}
	return ""
}

// sample takes a system sample and records the training speed: the sum of
// the images per second of the runs training now.
func (m *Model) sample() {
	if m.sys != nil {
		m.sysLast = m.sys()
	}
	speed := 0.0
	for _, r := range m.c.store.list() {
		if r.Owned && r.Status == trainer.StatusRunning && r.Progress != nil && r.Progress.ImagesPerSec > 0 {
			speed += r.Progress.ImagesPerSec
		}
	}
	m.speeds = append(m.speeds, speed)
	if len(m.speeds) > speedSamples {
		m.speeds = m.speeds[len(m.speeds)-speedSamples:]
	}
}
