package trainer

// Fashion-MNIST loading: IDX files (gzip'd or not) -> Dataset.
//
// The IDX format is big-endian: a 4-byte magic number (0x00000803 for a
// 3-dimensional unsigned-byte array, i.e. images; 0x00000801 for a
// 1-dimensional one, i.e. labels), one 4-byte size per dimension, then the
// data, row-major.

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

// Dataset holds images scaled to [0,1], row-major N x 784 (28x28, row by
// row), and labels 0-9. The images are float32 in Images or, for data read
// from IDX files, their bytes in Pix (value byte/255, exactly as converted):
// a quarter of the memory. Exactly one of the two is set; Image, Fill and
// Floats read either.
type Dataset struct {
	Images []float32 // len N*784, or nil when Pix holds the images
	Pix    []uint8   // len N*784, or nil when Images holds them
	Labels []uint8   // len N
	N      int
}

// Image writes image i into dst (len Pixels).
func (d *Dataset) Image(i int, dst []float32) {
	if d.Pix != nil {
		for j, b := range d.Pix[i*Pixels : (i+1)*Pixels] {
			dst[j] = idxPixelLUT[b]
		}
		return
	}
	copy(dst, d.Images[i*Pixels:(i+1)*Pixels])
}

// Fill writes images [lo, hi) into dst, one after the other.
func (d *Dataset) Fill(lo, hi int, dst []float32) {
	if d.Pix == nil {
		copy(dst, d.Images[lo*Pixels:hi*Pixels])
		return
	}
	for i, b := range d.Pix[lo*Pixels : hi*Pixels] {
		dst[i] = idxPixelLUT[b]
	}
}

// Floats returns all images as float32: Images itself, or a conversion of Pix.
func (d *Dataset) Floats() []float32 {
	if d.Pix == nil {
		return d.Images
	}
	return pixFloats(d.Pix)
}

// Slice is images [lo, hi) of d, sharing its storage.
func (d *Dataset) Slice(lo, hi int) *Dataset {
	s := &Dataset{Labels: d.Labels[lo:hi], N: hi - lo}
	if d.Pix != nil {
		s.Pix = d.Pix[lo*Pixels : hi*Pixels]
	} else {
		s.Images = d.Images[lo*Pixels : hi*Pixels]
	}
	return s
}

// values reports how many image values d holds.
func (d *Dataset) values() int {
	if d.Pix != nil {
		return len(d.Pix)
	}
	return len(d.Images)
}

// pixFloats converts IDX bytes to values in [0,1].
func pixFloats(pix []uint8) []float32 {
	if pix == nil {
		return nil
	}
	f := make([]float32, len(pix))
	for i, b := range pix {
		f[i] = idxPixelLUT[b]
	}
	return f
}

const (
	ImageSize  = 28                    // images are ImageSize x ImageSize pixels
	Pixels     = ImageSize * ImageSize // 784 values per image
	NumClasses = 10
)

// ClassNames are the Fashion-MNIST class names, indexed by label.
var ClassNames = [NumClasses]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

const (
	idxImageMagic = 0x00000803
	idxLabelMagic = 0x00000801
	// idxMaxItems caps the item count a header may declare (the real files
	// have 60,000 and 10,000).
	idxMaxItems      = 10_000_000
	idxImageHeader   = 16
	idxLabelHeader   = 8
	idxChunkBytes    = 128 * Pixels // bytes read and converted per step
	idxBufSize       = 1 << 16
	idxDefaultDir    = "/usr/share/datasets/fashion-mnist"
	idxEnvDir        = "FASHION_MNIST_DIR"
	idxInitialImages = 256 // first allocation when the body size is unknown
	// A deflate stream cannot expand by more than ~1032:1.
	idxMaxGzipRatio = 1100
)

// The split file names, without ".gz".
const (
	idxTrainImages = "train-images-idx3-ubyte"
	idxTrainLabels = "train-labels-idx1-ubyte"
	idxTestImages  = "t10k-images-idx3-ubyte"
	idxTestLabels  = "t10k-labels-idx1-ubyte"
)

// idxPixelLUT maps a pixel byte to its value in [0,1].
var idxPixelLUT = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// DefaultDataDir returns $FASHION_MNIST_DIR if set, else
// "/usr/share/datasets/fashion-mnist".
func DefaultDataDir() string {
	if d := os.Getenv(idxEnvDir); d != "" {
		return d
	}
	return idxDefaultDir
}

// idxErrf builds a one-line error naming the file, if known.
func idxErrf(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if name == "" {
		return errors.New("fashion-mnist: " + msg)
	}
	return errors.New("fashion-mnist: " + name + ": " + msg)
}

// idxSource describes where a stream comes from, for messages and sizing.
type idxSource struct {
	name    string // full path, or "" when parsing a bare reader
	gz      bool   // the stream is being gunzipped
	maxBody int64  // upper bound on the stream's length in bytes; < 0 if unknown
}

// Load reads the train and test splits from dir (DefaultDataDir when empty). limitTrain/limitTest > 0
// keep only the first N images of that split (0 = all; negative is an
// error). The .gz file is used when both X.gz and X exist.
func Load(dir string, limitTrain, limitTest int) (train, test *Dataset, err error) {
	if dir == "" {
		dir = DefaultDataDir()
	}
	if limitTrain < 0 || limitTest < 0 {
		return nil, nil, fmt.Errorf("fashion-mnist: negative limit (train %d, test %d); use 0 for all images", limitTrain, limitTest)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("fashion-mnist: data directory %s does not exist (install the Debian package dataset-fashion-mnist or pass --data DIR)", dir)
	case err != nil:
		return nil, nil, fmt.Errorf("fashion-mnist: data directory %s: %v", dir, idxUnwrapPath(err))
	case !fi.IsDir():
		return nil, nil, fmt.Errorf("fashion-mnist: data directory %s is not a directory", dir)
	}
	var paths [4]string
	for i, base := range [4]string{idxTrainImages, idxTrainLabels, idxTestImages, idxTestLabels} {
		if paths[i], err = idxResolve(dir, base); err != nil {
			return nil, nil, err
		}
	}

	type imgResult struct {
		images      []uint8
		n, declared int
		err         error
	}
	type lblResult struct {
		labels   []uint8
		declared int
		err      error
	}
	var (
		wg   sync.WaitGroup
		imgs [2]imgResult
		lbls [2]lblResult
	)
	limits := [2]int{limitTrain, limitTest}
	for s := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := &imgs[s]
			r.images, r.n, r.declared, r.err = idxReadImages(paths[2*s], limits[s])
		}()
		go func() {
			defer wg.Done()
			r := &lbls[s]
			r.labels, r.declared, r.err = idxReadLabels(paths[2*s+1], limits[s])
		}()
	}
	wg.Wait()

	var sets [2]*Dataset
	for s, split := range [2]string{"train", "test"} {
		im, lb := imgs[s], lbls[s]
		if im.err != nil {
			return nil, nil, im.err
		}
		if lb.err != nil {
			return nil, nil, lb.err
		}
		imgPath, lblPath := paths[2*s], paths[2*s+1]
		if im.declared != lb.declared {
			return nil, nil, fmt.Errorf("fashion-mnist: %s split: %s declares %d images but %s declares %d labels",
				split, imgPath, im.declared, lblPath, lb.declared)
		}
		if im.n != len(lb.labels) {
			return nil, nil, fmt.Errorf("fashion-mnist: %s split: read %d images from %s but %d labels from %s",
				split, im.n, imgPath, len(lb.labels), lblPath)
		}
		if im.n == 0 {
			return nil, nil, fmt.Errorf("fashion-mnist: %s split: %s contains no images", split, imgPath)
		}
		// The training images stay bytes (a quarter of the memory: training
		// converts a batch at a time); the test images, which evaluation and
		// the galleries read whole, are converted once.
		if split == "train" {
			sets[s] = &Dataset{Pix: im.images, Labels: lb.labels, N: im.n}
		} else {
			sets[s] = &Dataset{Images: pixFloats(im.images), Labels: lb.labels, N: im.n}
		}
	}
	return sets[0], sets[1], nil
}

// idxResolve returns dir/base.gz if it exists, else dir/base.
func idxResolve(dir, base string) (string, error) {
	gz := filepath.Join(dir, base+".gz")
	raw := filepath.Join(dir, base)
	if _, err := os.Stat(gz); err == nil {
		return gz, nil
	}
	if _, err := os.Stat(raw); err == nil {
		return raw, nil
	}
	return "", fmt.Errorf("fashion-mnist: neither %s nor %s was found (data directory %s is incomplete)", gz, raw, dir)
}

// idxUnwrapPath drops the *PathError wrapper (whose text repeats the path).
func idxUnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// idxFile is an open IDX file, decompressed if it is gzip'd.
type idxFile struct {
	f   *os.File
	gz  *gzip.Reader // nil if not compressed
	r   io.Reader
	src idxSource
}

// idxOpen opens path and detects gzip by its magic bytes 1f 8b.
func idxOpen(path string) (*idxFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, idxErrf(path, "file does not exist")
	}
	if err != nil {
		return nil, idxErrf(path, "cannot open: %v", idxUnwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, idxErrf(path, "cannot stat: %v", idxUnwrapPath(err))
	}
	if fi.IsDir() {
		f.Close()
		return nil, idxErrf(path, "is a directory, not an IDX file")
	}
	src := idxSource{name: path, maxBody: -1}
	if fi.Mode().IsRegular() {
		src.maxBody = fi.Size()
	}
	br := bufio.NewReaderSize(f, idxBufSize)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, idxErrf(path, "truncated gzip header")
			}
			return nil, idxErrf(path, "corrupt gzip header: %v", err)
		}
		src.gz = true
		if src.maxBody >= 0 {
			src.maxBody *= idxMaxGzipRatio
		}
		return &idxFile{f: f, gz: zr, r: zr, src: src}, nil
	}
	return &idxFile{f: f, r: br, src: src}, nil
}

// finish reads a gzip stream to its end so that its length and CRC are
// checked; only called when the whole body was wanted.
func (x *idxFile) finish() error {
	if x.gz == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, x.gz)
	switch {
	case err == nil:
		return nil
	case err == io.ErrUnexpectedEOF:
		return idxErrf(x.src.name, "truncated gzip stream: all data was read but the gzip trailer is missing")
	case errors.Is(err, gzip.ErrChecksum):
		return idxErrf(x.src.name, "gzip checksum mismatch, the file is corrupt")
	default:
		return idxErrf(x.src.name, "corrupt gzip data after the IDX data: %v", err)
	}
}

func (x *idxFile) Close() error { return x.f.Close() }

// ReadImages parses one IDX image file (gzip'd or not, detected by the gzip
// magic bytes 1f 8b, not by the name). limit > 0 keeps only the first limit
// images; 0 keeps all.
func ReadImages(path string, limit int) (images []float32, n int, err error) {
	pix, n, _, err := idxReadImages(path, limit)
	return pixFloats(pix), n, err
}

// ReadLabels parses one IDX label file (gzip'd or not, detected by the gzip
// magic bytes). limit > 0 keeps only the first limit labels; 0 keeps all.
func ReadLabels(path string, limit int) ([]uint8, error) {
	labels, _, err := idxReadLabels(path, limit)
	return labels, err
}

func idxReadImages(path string, limit int) (images []uint8, n, declared int, err error) {
	if limit < 0 {
		return nil, 0, 0, idxErrf(path, "negative limit %d", limit)
	}
	x, err := idxOpen(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer x.Close()
	images, n, declared, err = idxParseImages(x.r, limit, x.src)
	if err == nil && n == declared {
		err = x.finish()
	}
	if err != nil {
		return nil, 0, 0, err
	}
	return images, n, declared, nil
}

func idxReadLabels(path string, limit int) (labels []uint8, declared int, err error) {
	if limit < 0 {
		return nil, 0, idxErrf(path, "negative limit %d", limit)
	}
	x, err := idxOpen(path)
	if err != nil {
		return nil, 0, err
	}
	defer x.Close()
	labels, declared, err = idxParseLabels(x.r, limit, x.src)
	if err == nil && len(labels) == declared {
		err = x.finish() // report a corrupt gzip stream before bad labels
	}
	if err == nil {
		err = idxCheckLabels(labels, x.src)
	}
	if err != nil {
		return nil, 0, err
	}
	return labels, declared, nil
}

// ParseImages parses an IDX image file from r (already decompressed).
// limit > 0 keeps only the first limit images, 0 keeps all; the rest of r is
// not read.
func ParseImages(r io.Reader, limit int) ([]float32, int, error) {
	pix, n, _, err := idxParseImages(r, limit, idxSource{maxBody: -1})
	return pixFloats(pix), n, err
}

// ParseLabels parses an IDX label file from r (already decompressed).
// limit > 0 keeps only the first limit labels, 0 keeps all.
func ParseLabels(r io.Reader, limit int) ([]uint8, error) {
	src := idxSource{maxBody: -1}
	labels, _, err := idxParseLabels(r, limit, src)
	if err == nil {
		err = idxCheckLabels(labels, src)
	}
	if err != nil {
		return nil, err
	}
	return labels, nil
}

func idxBuffered(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReaderSize(r, idxBufSize)
}

// idxFill reads until buf is full. It returns the raw error of the reader
// (io.EOF when the stream ended cleanly, io.ErrUnexpectedEOF when a gzip
// stream was cut) if buf could not be filled, else nil.
func idxFill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			if n == len(buf) {
				return n, nil // a sticky error resurfaces on the next read
			}
			return n, err
		}
	}
	return n, nil
}

// idxShort describes why a read stopped after got of the bytes wanted; what
// names what was wanted, e.g. "10 images (7840 bytes of pixel data after the
// header)", and extra (may be "") is appended in parentheses.
func idxShort(src idxSource, err error, what string, got int64, extra string) error {
	if extra != "" {
		extra = " (" + extra + ")"
	}
	switch {
	case err == io.ErrUnexpectedEOF && src.gz:
		return idxErrf(src.name, "truncated gzip stream: expected %s but the stream breaks off after %d bytes%s", what, got, extra)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return idxErrf(src.name, "truncated: expected %s but only %d bytes are present%s", what, got, extra)
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) {
		return idxErrf(src.name, "corrupt gzip data after %d bytes while reading %s: %v", got, what, err)
	}
	return idxErrf(src.name, "read error after %d bytes while reading %s: %v", got, what, idxUnwrapPath(err))
}

// idxHeader reads an IDX header of len(hdr) bytes and checks its magic.
func idxHeader(br *bufio.Reader, hdr []byte, magic uint32, kind string, src idxSource) error {
	got, err := idxFill(br, hdr)
	if got >= 4 {
		if m := binary.BigEndian.Uint32(hdr); m != magic {
			hint := ""
			switch {
			case m == idxImageMagic:
				hint = "; this is an IDX image file"
			case m == idxLabelMagic:
				hint = "; this is an IDX label file"
			case m>>16 == 0x1f8b:
				hint = "; the data looks gzip-compressed"
			}
			return idxErrf(src.name, "wrong magic number 0x%08x (want 0x%08x, an IDX %s file%s)", m, magic, kind, hint)
		}
	}
	if err != nil {
		if got == 0 && err == io.EOF {
			return idxErrf(src.name, "empty file: expected the %d-byte IDX %s header", len(hdr), kind)
		}
		return idxShort(src, err, fmt.Sprintf("the %d-byte IDX %s header", len(hdr), kind), int64(got), "")
	}
	return nil
}

// idxCount checks a declared item count and returns how many to read.
func idxCount(count uint32, limit int, noun string, src idxSource) (int, error) {
	if limit < 0 {
		return 0, idxErrf(src.name, "negative limit %d", limit)
	}
	if count > idxMaxItems {
		return 0, idxErrf(src.name, "header declares %d %s, more than the maximum of %d", count, noun, idxMaxItems)
	}
	take := int(count)
	if limit > 0 && limit < take {
		take = limit
	}
	return take, nil
}

// idxWhat describes the items wanted, for truncation messages.
func idxWhat(take, declared int, noun string, bytes int64, unit string) string {
	if take == declared {
		return fmt.Sprintf("%d %s (%d bytes of %s after the header)", declared, noun, bytes, unit)
	}
	return fmt.Sprintf("the first %d of %d %s (%d bytes of %s after the header)", take, declared, noun, bytes, unit)
}

func idxParseImages(r io.Reader, limit int, src idxSource) (images []uint8, n, declared int, err error) {
	br := idxBuffered(r)
	var hdr [idxImageHeader]byte
	if err := idxHeader(br, hdr[:], idxImageMagic, "image", src); err != nil {
		return nil, 0, 0, err
	}
	count := binary.BigEndian.Uint32(hdr[4:])
	rows := binary.BigEndian.Uint32(hdr[8:])
	cols := binary.BigEndian.Uint32(hdr[12:])
	if rows != ImageSize || cols != ImageSize {
		return nil, 0, 0, idxErrf(src.name, "images are %dx%d, want %dx%d", rows, cols, ImageSize, ImageSize)
	}
	take, err := idxCount(count, limit, "images", src)
	if err != nil {
		return nil, 0, 0, err
	}
	declared = int(count)
	total := take * Pixels

	// Allocate no more than the stream can hold; grow by doubling when its
	// size is unknown, so a lying header costs nothing.
	capPix := total
	if src.maxBody >= 0 {
		capPix = int(min(int64(total), src.maxBody))
	} else {
		capPix = min(total, idxInitialImages*Pixels)
	}
	images = make([]uint8, 0, capPix)
	buf := make([]byte, min(idxChunkBytes, total))
	done := 0
	for done < total {
		got, rerr := idxFill(br, buf[:min(len(buf), total-done)])
		images = append(images, buf[:got]...)
		done += got
		if rerr != nil {
			what := idxWhat(take, declared, "images", int64(total), "pixel data")
			whole := fmt.Sprintf("%d complete images", done/Pixels)
			if done/Pixels == 1 {
				whole = "1 complete image"
			}
			return nil, 0, 0, idxShort(src, rerr, what, int64(done), whole)
		}
	}
	return images, take, declared, nil
}

func idxParseLabels(r io.Reader, limit int, src idxSource) (labels []uint8, declared int, err error) {
	br := idxBuffered(r)
	var hdr [idxLabelHeader]byte
	if err := idxHeader(br, hdr[:], idxLabelMagic, "label", src); err != nil {
		return nil, 0, err
	}
	count := binary.BigEndian.Uint32(hdr[4:])
	take, err := idxCount(count, limit, "labels", src)
	if err != nil {
		return nil, 0, err
	}
	declared = int(count)
	capN := take
	if src.maxBody >= 0 {
		capN = int(min(int64(take), src.maxBody))
	} else {
		capN = min(take, 1<<16)
	}
	labels = make([]uint8, 0, capN)
	for len(labels) < take {
		start := len(labels)
		step := min(take-start, idxChunkBytes)
		if start+step > cap(labels) {
			grown := make([]uint8, start, min(take, max(start+step, 2*cap(labels))))
			copy(grown, labels)
			labels = grown
		}
		got, rerr := idxFill(br, labels[start:start+step])
		labels = labels[:start+got]
		if rerr != nil {
			what := idxWhat(take, declared, "labels", int64(take), "label data")
			return nil, 0, idxShort(src, rerr, what, int64(len(labels)), "")
		}
	}
	return labels, declared, nil
}

// idxCheckLabels reports the first label outside 0-9.
func idxCheckLabels(labels []uint8, src idxSource) error {
	for i, l := range labels {
		if l >= NumClasses {
			return idxErrf(src.name, "label %d at index %d is out of range (want 0-%d)", l, i, NumClasses-1)
		}
	}
	return nil
}

// Len is the number of images, 0 for a nil data set.
func (d *Dataset) Len() int {
	if d == nil {
		return 0
	}
	return d.N
}

// SplitVal holds out n images of d as a validation set, chosen at random
// by seed (the same n and seed give the same images); the rest train, in
// their order. It is an error to leave no image to train on.
func SplitVal(d *Dataset, n int, seed int64) (train, val *Dataset, err error) {
	if n <= 0 {
		return d, nil, nil
	}
	if n >= d.N {
		return nil, nil, fmt.Errorf("a validation set of %d images leaves none of the %d training images to train on", n, d.N)
	}
	held := make([]bool, d.N)
	for _, i := range rand.New(rand.NewPCG(uint64(seed), 0x7a1)).Perm(d.N)[:n] {
		held[i] = true
	}
	// Both parts keep d's storage kind (bytes stay bytes).
	train = &Dataset{N: d.N - n, Labels: make([]uint8, 0, d.N-n)}
	val = &Dataset{N: n, Labels: make([]uint8, 0, n)}
	if d.Pix != nil {
		train.Pix, val.Pix = make([]uint8, 0, (d.N-n)*Pixels), make([]uint8, 0, n*Pixels)
	} else {
		train.Images, val.Images = make([]float32, 0, (d.N-n)*Pixels), make([]float32, 0, n*Pixels)
	}
	for i := range d.N {
		to := train
		if held[i] {
			to = val
		}
		if d.Pix != nil {
			to.Pix = append(to.Pix, d.Pix[i*Pixels:(i+1)*Pixels]...)
		} else {
			to.Images = append(to.Images, d.Images[i*Pixels:(i+1)*Pixels]...)
		}
		to.Labels = append(to.Labels, d.Labels[i])
	}
	return train, val, nil
}
