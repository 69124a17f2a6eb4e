package detector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"
)

// CheckInput refuses a missing input file, a directory or an empty file
// before OpenCV sees it.
func CheckInput(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("input video %s does not exist", path)
		}
		return fmt.Errorf("input video: %v", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("input video %s is a directory", path)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("input video %s is empty (0 bytes)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("input video: %v", err)
	}
	return f.Close()
}

// CheckWritable makes sure path can be written (creating it, empty, if it
// does not exist) so that OpenCV's writer never meets an unwritable path.
func CheckWritable(path, what string) error {
	if path == "" {
		return fmt.Errorf("no %s path given", what)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s is a directory", what, path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot write %s %s: directory %s does not exist", what, path, dir)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", what, unwrapPath(err))
	}
	f.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		os.Remove(path) // leave nothing behind if a later check fails
	}
	return nil
}

func unwrapPath(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Reader reads the frames of a video file as continuous 8-bit BGR bytes.
type Reader struct {
	path  string
	cap   *gocv.VideoCapture
	frame gocv.Mat
	W, H  int
	FPS   float64
	n     int
	// count is the frame count the container states, when it states one
	// exactly (aviFrames), else 0: a video that ends before it is damaged.
	count int
}

// OpenReader opens path and checks that it is a readable video. It does
// not read a frame: the first Next does.
func OpenReader(path string) (*Reader, error) {
	if err := CheckInput(path); err != nil {
		return nil, err
	}
	SilenceOpenCV()
	// FFmpeg alone when OpenCV has it: the other backends OpenCV would try
	// after it on a file FFmpeg cannot read (its own MJPEG reader) print
	// to stderr, which no log level silences.
	api := gocv.VideoCaptureAny
	if hasFFmpeg() {
		api = gocv.VideoCaptureFFmpeg
	}
	c, err := gocv.VideoCaptureFileWithAPI(path, api)
	if err != nil || c == nil || !c.IsOpened() {
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("input %s is not a video OpenCV can read", path)
	}
	fps := c.Get(gocv.VideoCaptureFPS)
	if math.IsNaN(fps) || fps <= 0 || fps > 1000 {
		fps = 10
	}
	r := &Reader{path: path, cap: c, frame: gocv.NewMat(), FPS: fps}
	// OpenCV's frame count is the container's when it has one, else an
	// estimate from the duration and frame rate, which may be more frames
	// than the video holds. Only an AVI header that states the same count
	// is taken as exact.
	if n := c.Get(gocv.VideoCaptureFrameCount); n > 0 && n < math.MaxInt32 && aviFrames(path) == int(n) {
		r.count = int(n)
	}
	return r, nil
}

// aviFrames is the total frame count in the main header of an AVI file
// (avih's dwTotalFrames), or 0 when path is not an AVI with that header.
func aviFrames(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var b [52]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0
	}
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "AVI " || string(b[12:16]) != "LIST" || string(b[20:28]) != "hdrlavih" {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b[48:52]))
}

// Next reads the next frame into a BGR byte slice (owned by the caller).
// It returns nil at the end of the video. Every frame must have the size of
// the first and be 8-bit, 1, 3 or 4 channels. A video that ends before the
// frame count its container states is damaged (a frame that cannot be
// decoded ends the decoder's reading): an error, not the end.
func (r *Reader) Next() ([]byte, error) {
	if !r.cap.Read(&r.frame) || r.frame.Empty() {
		if r.n < r.count {
			return nil, fmt.Errorf("input %s is damaged or cut short: frame %d of %d cannot be decoded", r.path, r.n+1, r.count)
		}
		return nil, nil
	}
	m := r.frame
	rows, cols := m.Rows(), m.Cols()
	if rows < 16 || cols < 16 || rows > 8192 || cols > 8192 {
		return nil, fmt.Errorf("input %s: frame %d is %dx%d (want 16 to 8192 pixels a side)", r.path, r.n, cols, rows)
	}
	if r.n == 0 {
		r.W, r.H = cols, rows
	} else if cols != r.W || rows != r.H {
		return nil, fmt.Errorf("input %s: frame %d is %dx%d, the first was %dx%d", r.path, r.n, cols, rows, r.W, r.H)
	}
	var bgr gocv.Mat
	switch m.Type() {
	case gocv.MatTypeCV8UC3:
		bgr = m
	case gocv.MatTypeCV8UC1:
		bgr = gocv.NewMat()
		defer bgr.Close()
		gocv.CvtColor(m, &bgr, gocv.ColorGrayToBGR)
	case gocv.MatTypeCV8UC4:
		bgr = gocv.NewMat()
		defer bgr.Close()
		gocv.CvtColor(m, &bgr, gocv.ColorBGRAToBGR)
	default:
		return nil, fmt.Errorf("input %s: frame %d has unsupported pixel type %v", r.path, r.n, m.Type())
	}
	r.n++
	b := bgr.ToBytes() // a copy, continuous
	if len(b) != r.W*r.H*3 {
		return nil, fmt.Errorf("input %s: frame %d has %d bytes, want %d", r.path, r.n-1, len(b), r.W*r.H*3)
	}
	return b, nil
}

// Close releases the capture.
func (r *Reader) Close() {
	r.frame.Close()
	r.cap.Close()
}

// Writer writes BGR frames to an MJPG .avi (or what the name's extension
// chooses: .mp4 gets mp4v).
type Writer struct {
	path string
	tmp  string // where the frames go until Close
	vw   *gocv.VideoWriter
	W, H int
	N    int
}

// OpenWriter creates the output video. The path is checked first. Frames
// go to a temporary file beside it (same extension, so OpenCV picks the same
// container), which Close renames to path: a file already at path stays as
// it was until then, and for good if Abort is called instead.
func OpenWriter(path string, w, h int, fps float64) (*Writer, error) {
	if w < 16 || h < 16 || fps <= 0 {
		return nil, fmt.Errorf("output %s: invalid size %dx%d or frame rate %g", path, w, h, fps)
	}
	if err := CheckWritable(path, "output video"); err != nil {
		return nil, err
	}
	codec := "MJPG"
	ext := filepath.Ext(path)
	if strings.EqualFold(ext, ".mp4") {
		codec = "mp4v"
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+strings.TrimSuffix(filepath.Base(path), ext)+".*.part"+ext)
	if err != nil {
		return nil, fmt.Errorf("cannot write output video: %v", unwrapPath(err))
	}
	tmp := f.Name()
	f.Close()
	SilenceOpenCV()
	vw, err := gocv.VideoWriterFile(tmp, codec, fps, w, h, true)
	if err != nil || vw == nil || !vw.IsOpened() {
		if vw != nil {
			vw.Close()
		}
		os.Remove(tmp)
		return nil, fmt.Errorf("cannot write output video %s (%s at %dx%d)", path, codec, w, h)
	}
	return &Writer{path: path, tmp: tmp, vw: vw, W: w, H: h}, nil
}

// Write appends one frame held in a BGR Mat of the writer's size.
func (w *Writer) Write(m gocv.Mat) error {
	if w.vw == nil {
		return fmt.Errorf("output %s: written after it was closed", w.path)
	}
	if m.Empty() || m.Cols() != w.W || m.Rows() != w.H || m.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("output %s: frame %dx%d type %v, want %dx%d 8-bit BGR", w.path, m.Cols(), m.Rows(), m.Type(), w.W, w.H)
	}
	if err := w.vw.Write(m); err != nil {
		return fmt.Errorf("output %s: %v", w.path, err)
	}
	w.N++
	return nil
}

// WriteBytes appends one frame given as BGR bytes.
func (w *Writer) WriteBytes(bgr []byte) error {
	if len(bgr) != w.W*w.H*3 {
		return fmt.Errorf("output %s: %d bytes for a %dx%d frame", w.path, len(bgr), w.W, w.H)
	}
	m, err := gocv.NewMatFromBytes(w.H, w.W, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		return err
	}
	defer m.Close()
	return w.Write(m)
}

// Close finishes the file and puts it at its path, readable by all (0644,
// as os.Create would make it: the temporary file was private) and synced
// to disk first; later calls, and Abort after it, do nothing.
func (w *Writer) Close() error {
	if w.vw == nil {
		return nil
	}
	err := w.vw.Close()
	w.vw = nil
	if err == nil {
		err = syncFile(w.tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("output %s: %v", w.path, err)
	}
	return nil
}

// Abort drops the frames written so far and leaves path as it was; after
// Close it does nothing. Writers are deferred to Abort, so that an error
// return leaves no half-written video in place of a good one.
func (w *Writer) Abort() {
	if w.vw == nil {
		return
	}
	w.vw.Close()
	w.vw = nil
	os.Remove(w.tmp)
}

// syncFile sets a written file's mode and flushes it to disk.
func syncFile(path string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Chmod(mode)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SamePath reports whether two paths name the same file: the same absolute
// path, or, when both exist, the same file through links.
func SamePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// CountFrames reads a video to its end and returns its frame count and size.
func CountFrames(path string) (n, w, h int, err error) {
	r, err := OpenReader(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	for {
		b, err := r.Next()
		if err != nil {
			return n, r.W, r.H, err
		}
		if b == nil {
			return n, r.W, r.H, nil
		}
		n++
	}
}

// Colours of the annotations (BGR order is handled by gocv's RGBA).
var (
	boxColour   = color.RGBA{0, 255, 0, 0}
	labelColour = color.RGBA{0, 0, 0, 0}
)

// annotate draws each detection's box and "label 0.97" above it (inside the
// frame when there is no room above). Boxes are clipped to the frame first.
func annotate(m *gocv.Mat, dets []Detection, thickness int) {
	bounds := image.Rect(0, 0, m.Cols(), m.Rows())
	for _, d := range dets {
		r := d.Box.Rect().Intersect(bounds)
		if r.Empty() {
			continue
		}
		gocv.Rectangle(m, r, boxColour, thickness)
		text := fmt.Sprintf("%s %.2f", d.Label, d.Score)
		size := gocv.GetTextSize(text, gocv.FontHersheySimplex, 0.4, 1)
		y := r.Min.Y - 3
		if y-size.Y < 0 {
			y = r.Min.Y + size.Y + 3
		}
		x := max(0, min(r.Min.X, bounds.Max.X-size.X))
		bg := image.Rect(x, y-size.Y-2, x+size.X, y+3).Intersect(bounds)
		if !bg.Empty() {
			gocv.Rectangle(m, bg, boxColour, -1)
		}
		gocv.PutText(m, text, image.Pt(x, y), gocv.FontHersheySimplex, 0.4, labelColour, 1)
	}
}

// ArgumentError is an error in Record's arguments (a command line's usage
// error), not the camera's or the disk's.
type ArgumentError string

func (e ArgumentError) Error() string { return string(e) }

// Record captures frames from camera index cam into path (MJPG, 10 fps),
// as the seed did, and returns how many. A missing camera is an error,
// checked before OpenCV is asked (on Linux, /dev/videoN must exist). A
// cancelled ctx stops it early, keeping the frames recorded so far.
func Record(ctx context.Context, cam, frames int, path string, progress func(i int)) (int, error) {
	if cam < 0 {
		return 0, ArgumentError(fmt.Sprintf("--camera must be 0 or more, got %d", cam))
	}
	if frames <= 0 {
		return 0, ArgumentError(fmt.Sprintf("--frames must be positive, got %d", frames))
	}
	dev := fmt.Sprintf("/dev/video%d", cam)
	if _, err := os.Stat("/dev"); err == nil {
		if _, err := os.Stat(dev); err != nil {
			return 0, fmt.Errorf("no camera %d (%s does not exist)", cam, dev)
		}
	}
	if err := CheckWritable(path, "output video"); err != nil {
		return 0, err
	}
	SilenceOpenCV()
	c, err := gocv.OpenVideoCapture(cam)
	if err != nil || c == nil || !c.IsOpened() {
		if c != nil {
			c.Close()
		}
		return 0, fmt.Errorf("cannot open camera %d (%s)", cam, dev)
	}
	defer c.Close()
	m := gocv.NewMat()
	defer m.Close()
	var w *Writer
	n := 0
	for i := 0; i < frames && ctx.Err() == nil; i++ {
		if !c.Read(&m) || m.Empty() {
			if i == 0 {
				return 0, fmt.Errorf("camera %d gave no frame", cam)
			}
			break
		}
		if m.Type() != gocv.MatTypeCV8UC3 {
			return 0, fmt.Errorf("camera %d gives frames of type %v, want 8-bit BGR", cam, m.Type())
		}
		if w == nil {
			if w, err = OpenWriter(path, m.Cols(), m.Rows(), 10); err != nil {
				return 0, err
			}
			defer w.Abort()
		}
		if err := w.Write(m); err != nil {
			return 0, err
		}
		n++
		if progress != nil {
			progress(i)
		}
	}
	if w == nil {
		return 0, nil
	}
	return n, w.Close()
}

// JPEGRoundTrip returns a BGR frame after JPEG compression at quality q
// (1-100) and decompression: what a frame looks like once recorded as MJPG
// (synth-video's 320x240 MJPG frames match quality 88-90 in PSNR). Training
// scenes go through it, so that a detection model and its proposals see
// the blocking and ringing of a recorded video.
func JPEGRoundTrip(bgr []byte, w, h, q int) ([]byte, error) {
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, q})
	if err != nil {
		return nil, fmt.Errorf("JPEG encoding: %v", err)
	}
	defer buf.Close()
	d, err := gocv.IMDecode(buf.GetBytes(), gocv.IMReadColor)
	if err != nil {
		return nil, fmt.Errorf("JPEG decoding: %v", err)
	}
	defer d.Close()
	if d.Cols() != w || d.Rows() != h || d.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("JPEG decoding gave %dx%d", d.Cols(), d.Rows())
	}
	return d.ToBytes(), nil
}
