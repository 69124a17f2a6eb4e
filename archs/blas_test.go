package archs

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
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

// The kernel is ours to choose: FMNIST_OPENBLAS_CORETYPE names it; an
// inherited OPENBLAS_CORETYPE is honoured unless it leaves AVX-512 unused.
// Each case runs this test binary again with the environment given, and reads
// the kernel it reports.
func TestBLASKernelChoice(t *testing.T) {
	if os.Getenv("FMNIST_PRINT_BLAS_CORE") != "" {
		fmt.Printf("core=%s\n", BLASCore())
		return
	}
	core := func(env ...string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestBLASKernelChoice$")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") && !strings.HasPrefix(kv, BLASCoreEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append(env, "FMNIST_PRINT_BLAS_CORE=1")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if c, ok := strings.CutPrefix(line, "core="); ok {
				return c
			}
		}
		t.Fatalf("%v: no core reported:\n%s", env, out)
		return ""
	}
	detected := core()
	got := core("OPENBLAS_CORETYPE=Prescott")
	if hasAVX512() && got != detected {
		t.Errorf("AVX-512 CPU, OPENBLAS_CORETYPE=Prescott inherited: kernel %q; want OpenBLAS's own choice %q", got, detected)
	}
	if !hasAVX512() && got != "Prescott" {
		t.Errorf("CPU without AVX-512, OPENBLAS_CORETYPE=Prescott inherited: kernel %q; want it honoured", got)
	}
	if hasAVX512() {
		if got := core("OPENBLAS_CORETYPE=SkylakeX"); got != "SkylakeX" {
			t.Errorf("OPENBLAS_CORETYPE=SkylakeX inherited: kernel %q; an AVX-512 core is honoured", got)
		}
	}
	if got := core(BLASCoreEnv+"=Nehalem", "OPENBLAS_CORETYPE=Haswell"); got != "Nehalem" {
		t.Errorf("with %s=Nehalem, kernel %q", BLASCoreEnv, got)
	}
	if detected == "Prescott" {
		t.Errorf("OpenBLAS detected Prescott here; the test cannot tell an inherited core from a detected one")
	}
}
