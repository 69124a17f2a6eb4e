package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"fmnist/archs"
)

// BenchResult is what `fmnist bench` reports for one model.
type BenchResult struct {
	Model           string  `json:"model"`
	Batch           int     `json:"batch"`
	TrainImages     int     `json:"train_images"`
	TrainSeconds    float64 `json:"train_seconds"`
	TrainPerSec     float64 `json:"train_images_per_sec"`
	EpochSeconds    float64 `json:"epoch_seconds_extrapolated"` // 60,000 images at TrainPerSec
	InferImages     int     `json:"infer_images"`
	InferPerSec     float64 `json:"infer_images_per_sec"`
	AllocsPerStep   float64 `json:"allocs_per_step"`
	AllocMBPerStep  float64 `json:"alloc_mb_per_step"`
	PeakRSSMB       float64 `json:"peak_rss_mb"` // the process's peak so far
	CPUSecondsTrain float64 `json:"cpu_seconds_train"`
	BLASCore        string  `json:"blas_core"` // OpenBLAS kernel that ran the SGEMMs

	// The arithmetic (archs.FLOPs) against the machine's SGEMM rate.
	TrainFLOPsPerImage float64 `json:"train_flops_per_image"`
	TrainGFLOPS        float64 `json:"train_gflops"`           // achieved
	SGEMMGFLOPS        float64 `json:"sgemm_gflops,omitempty"` // measured on all workers (Bench's caller sets it)
	FloorRatio         float64 `json:"floor_ratio,omitempty"`  // train time / the time its FLOPs take at the SGEMM rate
	EvalSeconds        float64 `json:"eval_seconds"`           // InferImages through Evaluate
}

// Bench trains model on the first images of d with its recipe's first batch
// size for one pass (after one warm-up step that builds the graph), then times
// inference over infer images of test.
// recipe names the recipe whose first phase is timed (its augmentation,
// label smoothing, schedule and weight decay included), changed by set
// (archs.Recipe.WithSet).
func Bench(ctx context.Context, model, recipe string, set []string, d, test *Dataset, seed int64) (BenchResult, error) {
	m, err := archs.New(model, uint64(seed))
	if err != nil {
		return BenchResult{}, err
	}
	rc, err := m.Spec.RecipeFor(recipe, set)
	if err != nil {
		return BenchResult{}, err
	}
	phase := rc.Phases[0]
	opts := epochOpts{recipe: rc, phase: phase, epoch: 2, total: rc.Epochs(), seed: seed}
	solver, err := archs.NewSolver(phase)
	if err != nil {
		return BenchResult{}, err
	}
	r := BenchResult{Model: m.Spec.Name, Batch: phase.Batch, BLASCore: archs.BLASCore()}
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	// Warm-up: build the graphs and touch every buffer once.
	warm := d.Slice(0, min(phase.Batch, d.N))
	if _, _, err := trainEpoch(ctx, m, solver, warm, opts, rng, func(int, int, float64, float64, float64) {}); err != nil {
		return r, err
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuSeconds()
	t0 := time.Now()
	if _, _, err := trainEpoch(ctx, m, solver, d, opts, rng, func(int, int, float64, float64, float64) {}); err != nil {
		return r, err
	}
	r.TrainSeconds = time.Since(t0).Seconds()
	r.CPUSecondsTrain = cpuSeconds() - cpu0
	runtime.ReadMemStats(&ms1)
	steps := float64((d.N + phase.Batch - 1) / phase.Batch)
	r.TrainImages = d.N
	r.TrainPerSec = float64(d.N) / r.TrainSeconds
	r.EpochSeconds = 60000 / r.TrainPerSec
	if _, tf, err := archs.FLOPs(model); err == nil {
		r.TrainFLOPsPerImage = tf
		r.TrainGFLOPS = tf * r.TrainPerSec / 1e9
	}
	r.AllocsPerStep = float64(ms1.Mallocs-ms0.Mallocs) / steps
	r.AllocMBPerStep = float64(ms1.TotalAlloc-ms0.TotalAlloc) / steps / (1 << 20)

	if test != nil && test.N > 0 {
		// Warm the evaluation graphs, then time a full pass.
		if err := PredictSet(ctx, m, test.Slice(0, min(test.N, EvalBatch)), func(int, []float32) {}); err != nil {
			return r, err
		}
		t1 := time.Now()
		if _, _, err := Evaluate(ctx, m, test); err != nil {
			return r, err
		}
		r.InferImages = test.N
		r.EvalSeconds = time.Since(t1).Seconds()
		r.InferPerSec = float64(test.N) / r.EvalSeconds
	}
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

// peakRSSMB reads the process's peak resident set size (VmHWM) on Linux.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// SetSGEMMRate records the machine's SGEMM rate and the floor ratio it gives.
func (r *BenchResult) SetSGEMMRate(gflops float64) {
	r.SGEMMGFLOPS = gflops
	if gflops > 0 && r.TrainGFLOPS > 0 {
		r.FloorRatio = gflops / r.TrainGFLOPS
	}
}

// BenchHeader is the header of the table String's rows make.
func BenchHeader() string {
	return fmt.Sprintf("%-16s %5s %7s %8s %8s %9s %7s %6s %6s %7s %8s %7s",
		"model", "batch", "img/s", "s/epoch", "CPU-s/1k", "MFLOP/img", "GFLOP/s", "SGEMM", "floor", "eval s", "peak RSS", "allocs")
}

// String is one row of the table BenchHeader heads: training images/s, the
// 60,000-image epoch extrapolated from it, CPU seconds per 1000 images, the
// training FLOPs per image and the rate they are done at, its share of the
// SGEMM rate and the floor ratio, the test evaluation's seconds, the peak
// RSS so far and the allocations per step.
func (r BenchResult) String() string {
	share, floor := "-", "-"
	if r.FloorRatio > 0 {
		share, floor = fmt.Sprintf("%.0f%%", 100/r.FloorRatio), fmt.Sprintf("%.1fx", r.FloorRatio)
	}
	return fmt.Sprintf("%-16s %5d %7.0f %8.1f %8.2f %9.1f %7.1f %6s %6s %7.2f %5.0f MB %7.0f",
		r.Model, r.Batch, r.TrainPerSec, r.EpochSeconds, 1000*r.CPUSecondsTrain/float64(r.TrainImages),
		r.TrainFLOPsPerImage/1e6, r.TrainGFLOPS, share, floor, r.EvalSeconds, r.PeakRSSMB, r.AllocsPerStep)
}
