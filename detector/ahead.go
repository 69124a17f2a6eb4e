package detector

import (
	"context"
	"fmt"
	"image"
	"sync"
	"time"
)

// proposed is a frame read and through the front of the pipeline: grey
// conversion and region proposals. Selective search is most of a frame's
// work (29 of 36 ms a frame at 320x240 with proposals at 240 px) and runs
// on one core, so frames go through it on several workers at once while
// the frame before is classified and written: 27.6 frames/s one frame at a
// time, 2 workers on 2 cores: see the closing figures in the README.
type proposed struct {
	index       int
	bgr         []byte
	g, half     Gray
	raw         int
	rects       []image.Rectangle
	decodeMs    float64
	proposalsMs float64
	err         error
}

// proposeAhead reads the video (first is its first frame, already read)
// and proposes regions on up to workers frames at once; it returns the
// frames in order, then closes the channel (after an error, the frame
// carrying it is the last). Cancelling ctx stops it; wait returns when its
// goroutines have stopped (the reader is then free to close).
func (j *Job) proposeAhead(ctx context.Context, first []byte, firstMs float64, workers int) (frames <-chan chan proposed, wait func()) {
	workers = max(1, workers)
	order := make(chan chan proposed, 2*workers)
	type task struct {
		f   proposed
		out chan proposed
	}
	work := make(chan task)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPipeline(j.cfg, j.r.W, j.r.H)
			defer p.close()
			for t := range work {
				f := t.f
				t0 := time.Now()
				g, err := p.load(f.bgr)
				if err == nil {
					f.g, f.half = g, p.half
					f.raw, f.rects, err = p.propose(f.bgr)
				}
				if err != nil {
					f.err = fmt.Errorf("frame %d: %v", f.index, err)
				}
				f.proposalsMs = millis(time.Since(t0))
				t.out <- f // buffered: never blocks
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		bgr, decodeMs := first, firstMs
		for i := 0; bgr != nil; i++ {
			out := make(chan proposed, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return
			}
			select {
			case work <- task{proposed{index: i, bgr: bgr, decodeMs: decodeMs}, out}:
			case <-ctx.Done():
				out <- proposed{index: i, err: ctx.Err()}
				return
			}
			t0 := time.Now()
			next, err := j.r.Next()
			if err != nil {
				out := make(chan proposed, 1)
				out <- proposed{index: i + 1, err: err}
				select {
				case order <- out:
				case <-ctx.Done():
				}
				return
			}
			bgr, decodeMs = next, millis(time.Since(t0))
		}
	}()
	return order, wg.Wait
}
