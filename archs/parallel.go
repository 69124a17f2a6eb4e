package archs

import (
	"runtime"
	"sync"
)

// workers is how many goroutines an op splits its work over.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallelFor runs fn(w, lo, hi) over [0, n) split into contiguous chunks, one
// per worker w, and waits for all of them. Small n runs inline.
func parallelFor(n int, fn func(w, lo, hi int)) {
	nw := workers()
	if nw > n {
		nw = n
	}
	if nw <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	// The calling goroutine takes the last chunk itself: one handoff fewer,
	// and it does not sleep while the others work.
	var wg sync.WaitGroup
	wg.Add(nw - 1)
	for w := 0; w < nw-1; w++ {
		lo, hi := w*n/nw, (w+1)*n/nw
		go func(w, lo, hi int) {
			defer wg.Done()
			fn(w, lo, hi)
		}(w, lo, hi)
	}
	fn(nw-1, (nw-1)*n/nw, n)
	wg.Wait()
}
