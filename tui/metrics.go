package tui

import (
	"math"
	"time"

	"fmnist/trainer"
)

// latest is the last finished epoch's figures, if any.
func (r *runState) latest() (trainer.EpochStats, bool) {
	if n := len(r.Epochs); n > 0 {
		return r.Epochs[n-1], true
	}
	return trainer.EpochStats{}, false
}

// epochFraction is how much of the epoch in training is done, 0..1.
func (r *runState) epochFraction() float64 {
	if p := r.Progress; p != nil && p.Batches > 0 {
		return math.Min(1, float64(p.Batch)/float64(p.Batches))
	}
	return 0
}

// runFraction is how much of the whole run is done, 0..1.
func (r *runState) runFraction() float64 {
	n := r.planned()
	if n == 0 {
		return 0
	}
	return math.Min(1, (float64(r.done())+r.epochFraction())/float64(n))
}

// secondsPerEpoch estimates one epoch's wall time, training plus
// evaluation: the mean of the finished epochs, else the training speed of
// the epoch under way. NaN if unknown.
func (r *runState) secondsPerEpoch() float64 {
	if n := len(r.Epochs); n > 0 {
		var s float64
		for _, e := range r.Epochs {
			s += e.TrainSeconds + e.EvalSeconds
		}
		return s / float64(n)
	}
	if p := r.Progress; p != nil && p.ImagesPerSec > 0 && r.TrainSize > 0 {
		return float64(r.TrainSize) / p.ImagesPerSec
	}
	return math.NaN()
}

// eta estimates the seconds left in a running run, NaN if unknown.
func (r *runState) eta() float64 {
	if r.Status != trainer.StatusRunning || !r.Owned || r.planned() == 0 {
		return math.NaN()
	}
	left := float64(r.planned()-r.done()) - r.epochFraction()
	return math.Max(0, left) * r.secondsPerEpoch()
}

// imagesPerSec is the live training speed of a running run, else the mean
// over its finished epochs. NaN if unknown.
func (r *runState) imagesPerSec() float64 {
	if p := r.Progress; p != nil && p.ImagesPerSec > 0 {
		return p.ImagesPerSec
	}
	var sec float64
	for _, e := range r.Epochs {
		sec += e.TrainSeconds
	}
	if sec <= 0 || r.TrainSize == 0 {
		return math.NaN()
	}
	return float64(r.TrainSize*len(r.Epochs)) / sec
}

// totalSeconds is the training plus evaluation time of the finished epochs.
func (r *runState) totalSeconds() float64 {
	var s float64
	for _, e := range r.Epochs {
		s += e.TrainSeconds + e.EvalSeconds
	}
	return s
}

// elapsed is the wall time since the run started (to its end if it ended).
func (r *runState) elapsed(now time.Time) float64 {
	if r.StartedAt.IsZero() {
		return math.NaN()
	}
	end := now
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(r.StartedAt).Seconds()
}
