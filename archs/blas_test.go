package archs

import (
	"math/rand/v2"
	"testing"
)

func TestSgemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	m, n, k := 7, 5, 9
	a, b := make([]float32, k*m), make([]float32, k*n)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	c := make([]float32, m*n)
	sgemm(true, false, m, n, k, 1, a, m, b, n, 0, c, n) // C = A^T B, A stored k x m
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[p*m+i]) * float64(b[p*n+j])
			}
			if d := float64(c[i*n+j]) - s; d > 1e-4 || d < -1e-4 {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, c[i*n+j], s)
			}
		}
	}
	if BLASThreads() != 1 {
		t.Errorf("OpenBLAS runs %d threads, want 1 (we parallelise ourselves)", BLASThreads())
	}
}

// BenchmarkSGEMM measures OpenBLAS's single-precision rate on 1024^3 products:
// one core, and both cores (one product per core, as our ops run them).
func BenchmarkSGEMM(b *testing.B) {
	const n = 1024
	mk := func() []float32 {
		s := make([]float32, n*n)
		for i := range s {
			s[i] = float32(i%7) * 0.1
		}
		return s
	}
	for _, cores := range []int{1, 2} {
		b.Run(map[int]string{1: "1core", 2: "2cores"}[cores], func(b *testing.B) {
			as, bs, cs := make([][]float32, cores), make([][]float32, cores), make([][]float32, cores)
			for i := range as {
				as[i], bs[i], cs[i] = mk(), mk(), mk()
			}
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				parallelFor(cores, func(w, lo, hi int) {
					for i := lo; i < hi; i++ {
						sgemm(false, false, n, n, n, 1, as[i], n, bs[i], n, 0, cs[i], n)
					}
				})
			}
			b.ReportMetric(float64(cores)*2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
