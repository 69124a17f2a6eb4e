package trainer

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- helpers (prefixed dataT to stay clear of other test files) ----

var dataTAllBases = []string{idxTrainImages, idxTrainLabels, idxTestImages, idxTestLabels}

// dataTRealDir returns the real data directory or fails the test.
func dataTRealDir(t testing.TB) string {
	t.Helper()
	dir := DefaultDataDir()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Fashion-MNIST data directory %s is missing (install the Debian package dataset-fashion-mnist, or set $FASHION_MNIST_DIR): %v", dir, err)
	}
	for _, base := range dataTAllBases {
		if _, err := idxResolve(dir, base); err != nil {
			t.Fatalf("Fashion-MNIST data is incomplete: %v", err)
		}
	}
	return dir
}

var dataTRawCache sync.Map // base -> []byte

// dataTRaw returns the decompressed bytes of a real data file.
func dataTRaw(t testing.TB, base string) []byte {
	t.Helper()
	if b, ok := dataTRawCache.Load(base); ok {
		return b.([]byte)
	}
	dir := dataTRealDir(t)
	path, err := idxResolve(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	dataTRawCache.Store(base, b)
	return b
}

// dataTGz returns the real file gzip'd (the file itself when it is a .gz).
func dataTGz(t testing.TB, base string) []byte {
	t.Helper()
	dir := dataTRealDir(t)
	if b, err := os.ReadFile(filepath.Join(dir, base+".gz")); err == nil {
		return b
	}
	return dataTGzip(t, dataTRaw(t, base))
}

func dataTGzip(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dataTWrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dataTCopyDir makes a temp dir holding links to the real (resolved) data
// files under the names base.gz or base, except for the bases in skip.
func dataTCopyDir(t testing.TB, skip ...string) string {
	t.Helper()
	real := dataTRealDir(t)
	dir := t.TempDir()
outer:
	for _, base := range dataTAllBases {
		for _, s := range skip {
			if s == base {
				continue outer
			}
		}
		src, err := idxResolve(real, base)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(src, filepath.Join(dir, filepath.Base(src))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	dataTFullOnce                 sync.Once
	dataTFullTrain, dataTFullTest *Dataset
	dataTFullErr                  error
	dataTFullTime                 time.Duration
)

// dataTFull loads the full real data set once.
func dataTFull(t testing.TB) (train, test *Dataset) {
	t.Helper()
	dir := dataTRealDir(t)
	dataTFullOnce.Do(func() {
		start := time.Now()
		dataTFullTrain, dataTFullTest, dataTFullErr = Load(dir, 0, 0)
		dataTFullTime = time.Since(start)
	})
	if dataTFullErr != nil {
		t.Fatalf("Load(%s, 0, 0): %v", dir, dataTFullErr)
	}
	return dataTFullTrain, dataTFullTest
}

// dataTWantErr checks err is a one-line error containing every part.
func dataTWantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, "fashion-mnist: ") {
		t.Errorf("error %q does not start with \"fashion-mnist: \"", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not contain %q", msg, p)
		}
	}
}

// dataTImagesIDX builds an IDX image file.
func dataTImagesIDX(count, rows, cols uint32, pixels []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, idxImageMagic)
	b = binary.BigEndian.AppendUint32(b, count)
	b = binary.BigEndian.AppendUint32(b, rows)
	b = binary.BigEndian.AppendUint32(b, cols)
	return append(b, pixels...)
}

// dataTLabelsIDX builds an IDX label file.
func dataTLabelsIDX(count uint32, labels []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, idxLabelMagic)
	b = binary.BigEndian.AppendUint32(b, count)
	return append(b, labels...)
}

func dataTCheckDataset(t *testing.T, name string, d *Dataset, n int) {
	t.Helper()
	if d == nil {
		t.Fatalf("%s: nil dataset", name)
	}
	if d.N != n || len(d.Labels) != n || d.values() != n*Pixels {
		t.Fatalf("%s: N=%d len(Labels)=%d values=%d, want N=%d, %d labels, %d pixels",
			name, d.N, len(d.Labels), d.values(), n, n, n*Pixels)
	}
	for i, v := range d.Floats() {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("%s: pixel %d = %v, outside [0,1]", name, i, v)
		}
	}
	for i, l := range d.Labels {
		if l >= NumClasses {
			t.Fatalf("%s: label %d = %d, outside 0-9", name, i, l)
		}
	}
}

// ---- constants and defaults ----

func TestDataConstants(t *testing.T) {
	if ImageSize != 28 || Pixels != 784 || NumClasses != 10 {
		t.Fatalf("ImageSize=%d Pixels=%d NumClasses=%d", ImageSize, Pixels, NumClasses)
	}
	if ClassNames[0] != "T-shirt/top" || ClassNames[9] != "Ankle boot" || ClassNames[5] != "Sandal" {
		t.Fatalf("ClassNames = %q", ClassNames)
	}
	for i, v := range idxPixelLUT {
		if v != float32(i)/255 {
			t.Fatalf("LUT[%d] = %v", i, v)
		}
	}
	if idxPixelLUT[0] != 0 || idxPixelLUT[255] != 1 {
		t.Fatalf("LUT ends %v %v, want 0 and 1", idxPixelLUT[0], idxPixelLUT[255])
	}
}

func TestDataDefaultDir(t *testing.T) {
	t.Setenv("FASHION_MNIST_DIR", "/some/where")
	if got := DefaultDataDir(); got != "/some/where" {
		t.Errorf("DefaultDataDir() with env = %q", got)
	}
	t.Setenv("FASHION_MNIST_DIR", "")
	if got := DefaultDataDir(); got != "/usr/share/datasets/fashion-mnist" {
		t.Errorf("DefaultDataDir() without env = %q", got)
	}
}

// ---- the real data ----

func TestLoadRealFull(t *testing.T) {
	train, test := dataTFull(t)
	t.Logf("loaded 70,000 images in %v", dataTFullTime)
	dataTCheckDataset(t, "train", train, 60000)
	dataTCheckDataset(t, "test", test, 10000)

	// Against the file bytes, read independently.
	trainImg, trainLbl := dataTRaw(t, idxTrainImages), dataTRaw(t, idxTrainLabels)
	testImg, testLbl := dataTRaw(t, idxTestImages), dataTRaw(t, idxTestLabels)
	if train.Labels[0] != trainLbl[8] {
		t.Errorf("first train label = %d, file byte says %d", train.Labels[0], trainLbl[8])
	}
	if train.Labels[0] != 9 { // the first Fashion-MNIST training image is an ankle boot
		t.Errorf("first train label = %d (%s), want 9 (Ankle boot)", train.Labels[0], ClassNames[train.Labels[0]])
	}
	if !bytes.Equal(test.Labels, testLbl[8:]) {
		t.Errorf("test labels differ from the file bytes")
	}
	for _, c := range []struct {
		name string
		d    *Dataset
		raw  []byte
		idx  int
	}{{"train", train, trainImg, 0}, {"train", train, trainImg, 59999}, {"test", test, testImg, 0}, {"test", test, testImg, 9999}} {
		img := make([]float32, Pixels)
		c.d.Image(c.idx, img)
		for p := range Pixels {
			want := float32(c.raw[16+c.idx*Pixels+p]) / 255
			if got := img[p]; got != want {
				t.Fatalf("%s image %d pixel %d = %v, file says %v", c.name, c.idx, p, got, want)
			}
		}
	}
	var lo, hi float32 = 1, 0
	for _, v := range train.Slice(0, 100).Floats() {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("first 100 train images span [%v,%v], want exactly [0,1]", lo, hi)
	}
}

func TestLoadRealClassHistogram(t *testing.T) {
	train, test := dataTFull(t)
	for _, c := range []struct {
		name string
		d    *Dataset
		want int
	}{{"test", test, 1000}, {"train", train, 6000}} {
		var h [NumClasses]int
		for _, l := range c.d.Labels {
			h[l]++
		}
		for k, n := range h {
			if n != c.want {
				t.Errorf("%s: class %d (%s) has %d images, want %d; histogram %v", c.name, k, ClassNames[k], n, c.want, h)
			}
		}
	}
}

func TestLoadRealLimits(t *testing.T) {
	dir := dataTRealDir(t)
	train, test, err := Load(dir, 6000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	dataTCheckDataset(t, "train", train, 6000)
	dataTCheckDataset(t, "test", test, 2000)
	fullTrain, fullTest := dataTFull(t)
	if !bytes.Equal(train.Pix, fullTrain.Pix[:6000*Pixels]) || !bytes.Equal(train.Labels, fullTrain.Labels[:6000]) {
		t.Error("limited train split is not a prefix of the full one")
	}
	if !slicesEqualF32(test.Images, fullTest.Images[:2000*Pixels]) || !bytes.Equal(test.Labels, fullTest.Labels[:2000]) {
		t.Error("limited test split is not a prefix of the full one")
	}

	// A limit beyond the split's size keeps the whole split.
	labels, err := ReadLabels(filepath.Join(dir, idxTestLabels+".gz"), 50000)
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 10000 {
		t.Errorf("ReadLabels with limit 50000: %d labels, want 10000", len(labels))
	}

	_, _, err = Load(dir, -1, 0)
	dataTWantErr(t, err, "negative")
	_, _, err = Load(dir, 0, -5)
	dataTWantErr(t, err, "negative", "-5")
	_, _, err = ReadImages(filepath.Join(dir, idxTestImages+".gz"), -1)
	dataTWantErr(t, err, idxTestImages, "negative")
}

func slicesEqualF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- corrupt and unusual directories ----

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-dir")
	_, _, err := Load(dir, 0, 0)
	dataTWantErr(t, err, "data directory "+dir+" does not exist", "dataset-fashion-mnist", "--data DIR")

	file := filepath.Join(t.TempDir(), "plain-file")
	dataTWrite(t, file, []byte("x"))
	_, _, err = Load(file, 0, 0)
	dataTWantErr(t, err, file, "not a directory")
}

func TestLoadMissingFile(t *testing.T) {
	dir := dataTCopyDir(t, idxTestLabels)
	_, _, err := Load(dir, 10, 10)
	gz := filepath.Join(dir, idxTestLabels+".gz")
	raw := filepath.Join(dir, idxTestLabels)
	dataTWantErr(t, err, "neither "+gz+" nor "+raw+" was found")

	_, err = ReadLabels(raw, 0)
	dataTWantErr(t, err, raw, "does not exist")
}

func TestLoadWrongMagic(t *testing.T) {
	dir := dataTCopyDir(t, idxTestImages)
	path := filepath.Join(dir, idxTestImages+".gz")
	dataTWrite(t, path, dataTGz(t, idxTestLabels)) // a label file where the images belong
	_, _, err := Load(dir, 100, 100)
	dataTWantErr(t, err, path, "wrong magic number 0x00000801 (want 0x00000803, an IDX image file")

	lpath := filepath.Join(t.TempDir(), "labels")
	dataTWrite(t, lpath, dataTRaw(t, idxTestImages)[:4000])
	_, err = ReadLabels(lpath, 0)
	dataTWantErr(t, err, lpath, "wrong magic number 0x00000803 (want 0x00000801, an IDX label file")
}

func TestLoadTruncatedGzip(t *testing.T) {
	gz := dataTGz(t, idxTestImages)
	dir := dataTCopyDir(t, idxTestImages)
	path := filepath.Join(dir, idxTestImages+".gz")
	dataTWrite(t, path, gz[:len(gz)/2])

	_, _, err := Load(dir, 10, 0)
	dataTWantErr(t, err, path, "truncated gzip stream", "10000 images", "7840000 bytes", "breaks off after")

	// The limit applies first: the start of a cut file is still readable.
	train, test, err := Load(dir, 10, 100)
	if err != nil {
		t.Fatalf("Load with a limit below the cut: %v", err)
	}
	dataTCheckDataset(t, "train", train, 10)
	dataTCheckDataset(t, "test", test, 100)
	_, full := dataTFull(t)
	if !slicesEqualF32(test.Images, full.Images[:100*Pixels]) {
		t.Error("images read from the cut file differ from the real ones")
	}

	// Only the 8-byte gzip trailer missing: all data arrives, but a full read
	// must still notice.
	lgz := dataTGz(t, idxTestLabels)
	lpath := filepath.Join(t.TempDir(), "labels.gz")
	dataTWrite(t, lpath, lgz[:len(lgz)-8])
	_, err = ReadLabels(lpath, 0)
	dataTWantErr(t, err, lpath, "truncated gzip stream")
	if l, err := ReadLabels(lpath, 10); err != nil || len(l) != 10 {
		t.Errorf("ReadLabels(limit 10) on a file missing its trailer: %d labels, %v", len(l), err)
	}
	ipath := filepath.Join(t.TempDir(), "images.gz")
	dataTWrite(t, ipath, gz[:len(gz)-8])
	_, _, err = ReadImages(ipath, 0)
	dataTWantErr(t, err, ipath, "truncated gzip stream", "trailer")

	// A truncated gzip header.
	hpath := filepath.Join(t.TempDir(), "header.gz")
	dataTWrite(t, hpath, gz[:5])
	_, _, err = ReadImages(hpath, 0)
	dataTWantErr(t, err, hpath, "truncated gzip header")
}

func TestLoadCorruptGzip(t *testing.T) {
	gz := bytes.Clone(dataTGz(t, idxTestLabels))
	for i := len(gz) / 2; i < len(gz)/2+64; i++ {
		gz[i] ^= 0x5a
	}
	path := filepath.Join(t.TempDir(), idxTestLabels+".gz")
	dataTWrite(t, path, gz)
	_, err := ReadLabels(path, 0)
	dataTWantErr(t, err, path, "gzip")
}

func TestLoadTruncatedRaw(t *testing.T) {
	raw := dataTRaw(t, idxTestImages)
	dir := dataTCopyDir(t, idxTestImages)
	path := filepath.Join(dir, idxTestImages)
	dataTWrite(t, path, raw[:16+10*Pixels+100])

	_, _, err := Load(dir, 10, 0)
	dataTWantErr(t, err, path, "truncated", "10000 images", "7840000 bytes", "only 7940 bytes are present", "10 complete images")
	if strings.Contains(err.Error(), "gzip") {
		t.Errorf("error for an uncompressed file mentions gzip: %v", err)
	}
	_, _, err = Load(dir, 10, 20)
	dataTWantErr(t, err, path, "truncated", "first 20 of 10000 images")
	if _, _, err := Load(dir, 10, 10); err != nil {
		t.Errorf("Load with limit 10 (all present): %v", err)
	}

	// A header cut short.
	dataTWrite(t, path, raw[:10])
	_, _, err = Load(dir, 10, 0)
	dataTWantErr(t, err, path, "truncated", "16-byte IDX image header", "only 10 bytes")
	dataTWrite(t, path, nil)
	_, _, err = Load(dir, 10, 0)
	dataTWantErr(t, err, path, "empty file")
}

func TestLoadCountMismatch(t *testing.T) {
	raw := bytes.Clone(dataTRaw(t, idxTestLabels))
	raw = raw[:len(raw)-1]
	binary.BigEndian.PutUint32(raw[4:], 9999)
	dir := dataTCopyDir(t, idxTestLabels)
	lpath := filepath.Join(dir, idxTestLabels+".gz")
	dataTWrite(t, lpath, dataTGzip(t, raw))
	ipath := filepath.Join(dir, idxTestImages+".gz")

	_, _, err := Load(dir, 10, 0)
	dataTWantErr(t, err, "test split", ipath, "10000 images", lpath, "9999 labels")
	// The headers disagree, so the files do not belong together, even when
	// the limit would read equally many from both.
	_, _, err = Load(dir, 10, 100)
	dataTWantErr(t, err, "test split", ipath, "10000 images", lpath, "9999 labels")
}

func TestLoadBadLabel(t *testing.T) {
	raw := bytes.Clone(dataTRaw(t, idxTestLabels))
	raw[8+5] = 12
	raw[8+7] = 200
	dir := dataTCopyDir(t, idxTestLabels)
	path := filepath.Join(dir, idxTestLabels+".gz")
	dataTWrite(t, path, dataTGzip(t, raw))

	_, _, err := Load(dir, 10, 0)
	dataTWantErr(t, err, path, "label 12", "index 5")
	// Labels past the limit are not looked at.
	if _, _, err := Load(dir, 10, 5); err != nil {
		t.Errorf("Load with test limit 5 (bad label at index 5): %v", err)
	}
}

func TestLoadUngzipped(t *testing.T) {
	fullTrain, fullTest := dataTFull(t)
	dir := t.TempDir()
	for _, base := range dataTAllBases {
		dataTWrite(t, filepath.Join(dir, base), dataTRaw(t, base))
	}
	train, test, err := Load(dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != fullTrain.N || !bytes.Equal(train.Pix, fullTrain.Pix) || !bytes.Equal(train.Labels, fullTrain.Labels) {
		t.Error("un-gzipped train split differs from the gzipped one")
	}
	if test.N != fullTest.N || !slicesEqualF32(test.Images, fullTest.Images) || !bytes.Equal(test.Labels, fullTest.Labels) {
		t.Error("un-gzipped test split differs from the gzipped one")
	}
}

func TestLoadPrefersGzip(t *testing.T) {
	dir := dataTCopyDir(t)
	for _, base := range dataTAllBases {
		if _, err := os.Lstat(filepath.Join(dir, base+".gz")); err != nil {
			t.Skipf("the real data has no %s.gz", base) // nothing to prefer
		}
		dataTWrite(t, filepath.Join(dir, base), []byte("garbage that must not be read"))
	}
	train, test, err := Load(dir, 50, 50)
	if err != nil {
		t.Fatalf("Load with both .gz and garbage un-gzipped files: %v", err)
	}
	dataTCheckDataset(t, "train", train, 50)
	dataTCheckDataset(t, "test", test, 50)
}

func TestReadDetectsGzipByContent(t *testing.T) {
	dir := t.TempDir()
	gzAsRaw := filepath.Join(dir, "images-plain-name")
	rawAsGz := filepath.Join(dir, "images-gz-name.gz")
	dataTWrite(t, gzAsRaw, dataTGz(t, idxTestImages))
	dataTWrite(t, rawAsGz, dataTRaw(t, idxTestImages))
	a, na, err := ReadImages(gzAsRaw, 300)
	if err != nil {
		t.Fatal(err)
	}
	b, nb, err := ReadImages(rawAsGz, 300)
	if err != nil {
		t.Fatal(err)
	}
	if na != 300 || nb != 300 || !slicesEqualF32(a, b) {
		t.Errorf("gzip detection by content: n=%d,%d equal=%v", na, nb, slicesEqualF32(a, b))
	}

	lgz := filepath.Join(dir, "labels")
	dataTWrite(t, lgz, dataTGz(t, idxTestLabels))
	l, err := ReadLabels(lgz, 0)
	if err != nil || !bytes.Equal(l, dataTRaw(t, idxTestLabels)[8:]) {
		t.Errorf("ReadLabels of a gzip'd file without .gz: %d labels, %v", len(l), err)
	}

	_, _, err = ReadImages(dir, 0)
	dataTWantErr(t, err, dir, "directory")
}

// ---- the parsers on synthetic input ----

func TestParseImagesSynthetic(t *testing.T) {
	pix := make([]byte, 2*Pixels)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	pix[0], pix[1], pix[Pixels] = 0, 255, 128
	valid := dataTImagesIDX(2, 28, 28, pix)

	imgs, n, err := ParseImages(bytes.NewReader(valid), 0)
	if err != nil || n != 2 || len(imgs) != 2*Pixels {
		t.Fatalf("valid 2-image file: n=%d len=%d err=%v", n, len(imgs), err)
	}
	if imgs[0] != 0 || imgs[1] != 1 || imgs[Pixels] != float32(128)/255 {
		t.Errorf("pixel values %v %v %v, want 0 1 %v", imgs[0], imgs[1], imgs[Pixels], float32(128)/255)
	}
	for i, b := range pix {
		if imgs[i] != float32(b)/255 {
			t.Fatalf("pixel %d = %v, want %v", i, imgs[i], float32(b)/255)
		}
	}

	// Limit: only what is asked is read, the rest need not be there.
	imgs, n, err = ParseImages(bytes.NewReader(valid[:16+Pixels]), 1)
	if err != nil || n != 1 || len(imgs) != Pixels {
		t.Errorf("limit 1 on a file cut after one image: n=%d err=%v", n, err)
	}
	r := bytes.NewReader(append(bytes.Clone(valid), 1, 2, 3))
	if _, n, err = ParseImages(r, 5); err != nil || n != 2 {
		t.Errorf("limit 5 on a 2-image file: n=%d err=%v", n, err)
	}
	if _, n, err = ParseImages(bytes.NewReader(dataTImagesIDX(0, 28, 28, nil)), 0); err != nil || n != 0 {
		t.Errorf("0-image file: n=%d err=%v", n, err)
	}

	var gzValid bytes.Buffer
	zw := gzip.NewWriter(&gzValid)
	zw.Write(valid)
	zw.Close()

	for _, c := range []struct {
		name  string
		data  []byte
		limit int
		parts []string
	}{
		{"empty", nil, 0, []string{"empty file", "16-byte"}},
		{"short header", valid[:9], 0, []string{"truncated", "16-byte IDX image header", "only 9 bytes"}},
		{"label magic", dataTLabelsIDX(2, []byte{1, 2}), 0, []string{"wrong magic number 0x00000801 (want 0x00000803, an IDX image file", "label file"}},
		{"gzip'd", gzValid.Bytes(), 0, []string{"wrong magic number 0x1f8b", "gzip"}},
		{"32x32", dataTImagesIDX(1, 32, 32, make([]byte, 1024)), 0, []string{"32x32", "want 28x28"}},
		{"28x1", dataTImagesIDX(1, 28, 1, make([]byte, 28)), 0, []string{"28x1"}},
		{"huge count", dataTImagesIDX(0xffffffff, 28, 28, pix), 0, []string{"4294967295 images", "maximum"}},
		{"huge count, limit", dataTImagesIDX(0xffffffff, 28, 28, pix), 1, []string{"maximum"}},
		{"large count", dataTImagesIDX(9_999_999, 28, 28, pix), 0, []string{"truncated", "9999999 images", "7839999216 bytes", "2 complete images"}},
		{"cut body", valid[:16+Pixels+5], 0, []string{"truncated", "2 images", "1568 bytes", "only 789 bytes are present", "1 complete image)"}},
		{"negative limit", valid, -1, []string{"negative limit -1"}},
	} {
		imgs, n, err := ParseImages(bytes.NewReader(c.data), c.limit)
		if imgs != nil || n != 0 {
			t.Errorf("%s: got %d images with the error", c.name, n)
		}
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) { dataTWantErr(t, err, c.parts...) })
	}
}

func TestParseLabelsSynthetic(t *testing.T) {
	valid := dataTLabelsIDX(4, []byte{0, 9, 3, 7})
	l, err := ParseLabels(bytes.NewReader(valid), 0)
	if err != nil || !bytes.Equal(l, []byte{0, 9, 3, 7}) {
		t.Fatalf("valid labels: %v %v", l, err)
	}
	if l, err = ParseLabels(bytes.NewReader(valid[:10]), 2); err != nil || !bytes.Equal(l, []byte{0, 9}) {
		t.Errorf("limit 2 on a cut file: %v %v", l, err)
	}
	if l, err = ParseLabels(bytes.NewReader(dataTLabelsIDX(4, []byte{0, 1, 10, 12})), 2); err != nil || len(l) != 2 {
		t.Errorf("bad labels beyond the limit: %v %v", l, err)
	}
	for _, c := range []struct {
		name  string
		data  []byte
		limit int
		parts []string
	}{
		{"empty", nil, 0, []string{"empty file", "8-byte"}},
		{"short header", valid[:6], 0, []string{"truncated", "8-byte IDX label header"}},
		{"image magic", dataTImagesIDX(1, 28, 28, nil), 0, []string{"wrong magic number 0x00000803 (want 0x00000801, an IDX label file"}},
		{"label 12", dataTLabelsIDX(4, []byte{1, 2, 12, 13}), 0, []string{"label 12 at index 2", "0-9"}},
		{"label 10", dataTLabelsIDX(1, []byte{10}), 0, []string{"label 10 at index 0"}},
		{"huge count", dataTLabelsIDX(0x80000000, []byte{1}), 0, []string{"2147483648 labels", "maximum"}},
		{"large count", dataTLabelsIDX(9_000_000, []byte{1, 2}), 0, []string{"truncated", "9000000 labels", "only 2 bytes"}},
		{"cut", valid[:10], 0, []string{"truncated", "4 labels"}},
		{"negative limit", valid, -3, []string{"negative limit -3"}},
	} {
		l, err := ParseLabels(bytes.NewReader(c.data), c.limit)
		if l != nil {
			t.Errorf("%s: got labels %v with the error", c.name, l)
		}
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) { dataTWantErr(t, err, c.parts...) })
	}
}

// A header may declare up to 10 million images; with no data behind it the
// parser must not allocate for them.
func TestParseImagesLyingHeaderAllocatesLittle(t *testing.T) {
	data := dataTImagesIDX(9_999_999, 28, 28, make([]byte, 3*Pixels))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, err := ParseImages(bytes.NewReader(data), 0); err == nil {
			t.Fatal("no error for a truncated file")
		}
		if _, err := ParseLabels(bytes.NewReader(dataTLabelsIDX(9_999_999, []byte{1})), 0); err == nil {
			t.Fatal("no error for a truncated label file")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 4<<20 {
		t.Errorf("parsing a 2 KB file declaring 10M images allocated %d bytes per call", per)
	}
}

// ---- fuzzing ----

func FuzzParseImages(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var full []float32
		for _, limit := range []int{0, 1, 3} {
			imgs, n, err := ParseImages(bytes.NewReader(data), limit)
			if err != nil {
				msg := err.Error()
				if !strings.HasPrefix(msg, "fashion-mnist: ") || strings.ContainsAny(msg, "\n\r") {
					t.Fatalf("bad error text %q", msg)
				}
				if imgs != nil || n != 0 {
					t.Fatalf("limit %d: error %v with %d images", limit, err, n)
				}
				continue
			}
			if n < 0 || len(imgs) != n*Pixels {
				t.Fatalf("limit %d: n=%d but len(images)=%d", limit, n, len(imgs))
			}
			if limit > 0 && n > limit {
				t.Fatalf("limit %d: got %d images", limit, n)
			}
			if declared := int(binary.BigEndian.Uint32(data[4:])); n > declared {
				t.Fatalf("read %d images, header declares %d", n, declared)
			}
			for i, v := range imgs {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("pixel %d = %v, outside [0,1]", i, v)
				}
				if v != float32(data[16+i])/255 {
					t.Fatalf("pixel %d = %v, data byte is %d", i, v, data[16+i])
				}
			}
			if limit == 0 {
				full = imgs
			} else if full != nil && !slicesEqualF32(imgs, full[:len(imgs)]) {
				t.Fatalf("limit %d: not a prefix of the full parse", limit)
			}
		}
	})
}

func FuzzParseLabels(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range []int{0, 1, 3} {
			labels, err := ParseLabels(bytes.NewReader(data), limit)
			if err != nil {
				msg := err.Error()
				if !strings.HasPrefix(msg, "fashion-mnist: ") || strings.ContainsAny(msg, "\n\r") {
					t.Fatalf("bad error text %q", msg)
				}
				if labels != nil {
					t.Fatalf("limit %d: error %v with labels", limit, err)
				}
				continue
			}
			if limit > 0 && len(labels) > limit {
				t.Fatalf("limit %d: got %d labels", limit, len(labels))
			}
			if declared := int(binary.BigEndian.Uint32(data[4:])); len(labels) > declared {
				t.Fatalf("read %d labels, header declares %d", len(labels), declared)
			}
			if !bytes.Equal(labels, data[8:8+len(labels)]) {
				t.Fatalf("labels differ from the data bytes")
			}
			for i, l := range labels {
				if l >= NumClasses {
					t.Fatalf("label %d = %d, outside 0-9", i, l)
				}
			}
		}
	})
}
