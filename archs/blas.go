package archs

/*
#cgo LDFLAGS: -L/usr/lib/x86_64-linux-gnu/openblas-pthread -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/cpu"
)

const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// BLASCoreEnv names the OpenBLAS kernel to use (OpenBLAS's core names:
// Haswell, SkylakeX, Cooperlake, Zen, ...).
const BLASCoreEnv = "FMNIST_OPENBLAS_CORETYPE"

func init() {
	chooseBLASCore()
	// All parallelism comes from our own goroutines (one per core, each calling
	// a single-threaded SGEMM on its share of the batch); OpenBLAS's own threads
	// would only compete with them.
	C.openblas_set_num_threads(1)
}

// chooseBLASCore makes OpenBLAS run the kernel BLASCoreEnv names. Without it,
// an inherited OPENBLAS_CORETYPE is honoured, except that on a CPU with
// AVX-512 one naming an older core is dropped and OpenBLAS picks the kernel
// itself: the variable is often set machine-wide, and AVX2's Haswell kernel
// on an AVX-512 CPU halves the SGEMM rate.
//
// OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded, which is before any
// Go code runs; so when the variable is not what we want, the program
// re-executes itself (same process, arguments and descriptors) with it
// corrected. If that fails, it goes on with the kernel it has.
func chooseBLASCore() {
	want, wantSet := os.LookupEnv(BLASCoreEnv)
	wantSet = wantSet && want != ""
	have, haveSet := os.LookupEnv("OPENBLAS_CORETYPE")
	if !wantSet && (!haveSet || !hasAVX512() || avx512Core(have)) {
		return // nothing to correct
	}
	if wantSet && haveSet && have == want {
		return
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") {
			env = append(env, kv)
		}
	}
	if wantSet {
		env = append(env, "OPENBLAS_CORETYPE="+want)
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env) // returns only on failure
}

// hasAVX512 reports whether the CPU (and OS) run the AVX-512 instructions
// OpenBLAS's SkylakeX kernels use.
func hasAVX512() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ
}

// avx512Core reports whether an OpenBLAS core name is one of its AVX-512 ones.
func avx512Core(name string) bool {
	switch strings.ToLower(name) {
	case "skylakex", "cooperlake", "sapphirerapids":
		return true
	}
	return false
}

// BLASCore is the name of the OpenBLAS kernel in use.
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }

// BLASInfo describes the OpenBLAS in use: its build, kernel and threads.
func BLASInfo() string {
	cfg := strings.TrimSpace(strings.TrimPrefix(C.GoString(C.openblas_get_config()), "OpenBLAS "))
	return fmt.Sprintf("OpenBLAS %s; kernel %s, %d thread per worker goroutine", cfg, BLASCore(), BLASThreads())
}

// sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, with
// op(A) m x k and op(B) k x n, through OpenBLAS.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := C.int(cblasNoTrans), C.int(cblasNoTrans)
	if transA {
		ta = cblasTrans
	}
	if transB {
		tb = cblasTrans
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	C.cblas_sgemm(cblasRowMajor, ta, tb, C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.int(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}

// SGEMMRate measures the SGEMM rate in GFLOP/s with every worker
// multiplying its own 1024x1024 matrices, as the ops do: the ceiling that
// FLOP counts are compared with. It runs for about d after a warm-up.
func SGEMMRate(d time.Duration) float64 {
	const n = 1024
	nw := workers()
	as, cs := make([][]float32, nw), make([][]float32, nw)
	for i := range as {
		as[i], cs[i] = make([]float32, n*n), make([]float32, n*n)
		for j := range as[i] {
			as[i][j] = float32(j%7) * 0.1
		}
	}
	round := func() {
		parallelFor(nw, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				sgemm(false, false, n, n, n, 1, as[i], n, as[i], n, 0, cs[i], n)
			}
		})
	}
	round()
	t0, rounds := time.Now(), 0
	for rounds == 0 || time.Since(t0) < d {
		round()
		rounds++
	}
	return float64(nw*rounds) * 2 * n * n * n / time.Since(t0).Seconds() / 1e9
}

// BLASThreads reports how many threads OpenBLAS uses (1: we parallelise ourselves).
func BLASThreads() int { return int(C.openblas_get_num_threads()) }
