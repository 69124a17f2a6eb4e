// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors):
//
//	8 bytes   N, the header length, unsigned little-endian
//	N bytes   a JSON object: {"__metadata__": {string: string},
//	          NAME: {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
//	          padded with spaces so that the data starts at a multiple of 8
//	rest      the tensors' bytes, little-endian, row-major; offsets are
//	          relative to the start of this section
//
// The reader is strict, like the reference implementation: the tensors must
// cover the data section exactly (no gaps, overlaps or trailing bytes), each
// tensor's byte length must match its dtype and shape, and names and keys
// may appear only once.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxHeader is the largest header accepted (the reference's limit).
const MaxHeader = 100 << 20

// dtypeSize are the element sizes of the dtypes of the format.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Tensor is one named tensor: its dtype, shape and raw little-endian bytes.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// F32 makes a float32 tensor.
func F32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: "F32", Shape: append([]int(nil), shape...), Data: b}
}

// Float32s decodes an F32 tensor.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType != "F32" {
		return nil, fmt.Errorf("tensor %s has dtype %s, want F32", t.Name, t.DType)
	}
	if len(t.Data)%4 != 0 {
		return nil, fmt.Errorf("tensor %s: %d bytes is not a whole number of F32 values", t.Name, len(t.Data))
	}
	v := make([]float32, len(t.Data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

// File is a decoded safetensors file: its metadata and its tensors, in the
// order of their data.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// Encode writes tensors, in the given order, and metadata in the safetensors
// format. Names must be unique and not "__metadata__"; each tensor's bytes
// must match its dtype and shape.
func Encode(metadata map[string]string, tensors []Tensor) ([]byte, error) {
	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	key := func(k string) {
		if !first {
			h.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		h.Write(kb)
		h.WriteByte(':')
	}
	if len(metadata) > 0 {
		key("__metadata__")
		mb, err := json.Marshal(metadata) // keys sorted
		if err != nil {
			return nil, err
		}
		h.Write(mb)
	}
	seen := map[string]bool{}
	var off uint64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" || !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("tensor %s given twice", t.Name)
		}
		seen[t.Name] = true
		n, err := byteLen(t.DType, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %v", t.Name, err)
		}
		if uint64(len(t.Data)) != n {
			return nil, fmt.Errorf("tensor %s: %d bytes for %s %v (want %d)", t.Name, len(t.Data), t.DType, t.Shape, n)
		}
		key(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sb, _ := json.Marshal(shape)
		fmt.Fprintf(&h, `{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, t.DType, sb, off, off+n)
		off += n
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	out := make([]byte, 8, 8+h.Len()+int(off))
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, t := range tensors {
		out = append(out, t.Data...)
	}
	return out, nil
}

// byteLen is the byte length of a dtype/shape, checking both.
func byteLen(dtype string, shape []int) (uint64, error) {
	size, ok := dtypeSize[dtype]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	n := uint64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt64/uint64(d) {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= uint64(d)
	}
	return n, nil
}

type entry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]int64  `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

// Decode parses a whole safetensors file. Tensor data alias data.
func Decode(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("truncated: %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeader {
		return nil, fmt.Errorf("header length %d is over the %d-byte limit (not a safetensors file?)", n, MaxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d goes beyond the end of the file (%d bytes): truncated or not a safetensors file", n, len(data))
	}
	header, body := data[8:8+n], data[8+n:]
	if !utf8.Valid(header) {
		return nil, errors.New("header is not valid UTF-8")
	}
	if len(bytes.TrimSpace(header)) == 0 || bytes.TrimSpace(header)[0] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("header is not a JSON object")
	}
	f := &File{}
	seen := map[string]bool{}
	type placed struct {
		t          Tensor
		begin, end uint64
	}
	var ts []placed
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header: invalid JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("header: invalid JSON object key")
		}
		if seen[name] {
			return nil, fmt.Errorf("header: %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("header: invalid JSON at %q: %v", name, err)
		}
		if name == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return nil, errors.New(`header: "__metadata__" is not an object of strings`)
			}
			f.Metadata = md
			continue
		}
		if name == "" {
			return nil, errors.New("header: tensor with an empty name")
		}
		var e entry
		ed := json.NewDecoder(bytes.NewReader(raw))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, fmt.Errorf("header: tensor %s: %v", name, cleanJSONErr(err))
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
			return nil, fmt.Errorf("header: tensor %s needs dtype, shape and data_offsets", name)
		}
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("header: tensor %s has an invalid shape %v", name, *e.Shape)
			}
			shape[i] = int(d)
		}
		want, err := byteLen(*e.DType, shape)
		if err != nil {
			return nil, fmt.Errorf("header: tensor %s: %v", name, err)
		}
		off := *e.DataOffsets
		if len(off) != 2 {
			return nil, fmt.Errorf("header: tensor %s: data_offsets must be [begin, end]", name)
		}
		if off[0] > off[1] {
			return nil, fmt.Errorf("header: tensor %s: data_offsets [%d, %d] end before they begin", name, off[0], off[1])
		}
		if off[1] > uint64(len(body)) {
			return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] go beyond the %d bytes of data: truncated file", name, off[0], off[1], len(body))
		}
		if off[1]-off[0] != want {
			return nil, fmt.Errorf("tensor %s: %d bytes of data for %s %v, which needs %d", name, off[1]-off[0], *e.DType, shape, want)
		}
		ts = append(ts, placed{Tensor{Name: name, DType: *e.DType, Shape: shape, Data: body[off[0]:off[1]:off[1]]}, off[0], off[1]})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("header: invalid JSON: %v", err)
	}
	if len(bytes.TrimSpace(header[dec.InputOffset():])) != 0 {
		return nil, errors.New("header: text after the JSON object")
	}
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].begin != ts[j].begin {
			return ts[i].begin < ts[j].begin
		}
		return ts[i].end < ts[j].end
	})
	var pos uint64
	for _, p := range ts {
		if p.begin != pos {
			if p.begin < pos {
				return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] overlap the previous tensor's (ending at %d)", p.t.Name, p.begin, p.end, pos)
			}
			return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] leave a gap after byte %d", p.t.Name, p.begin, p.end, pos)
		}
		pos = p.end
		f.Tensors = append(f.Tensors, p.t)
	}
	if pos != uint64(len(body)) {
		return nil, fmt.Errorf("%d bytes of data after the last tensor (ends at %d of %d)", uint64(len(body))-pos, pos, len(body))
	}
	return f, nil
}

// cleanJSONErr shortens encoding/json's errors to one clause.
func cleanJSONErr(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("%s has the wrong type (%s)", ute.Field, ute.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// ReadFile reads and decodes a safetensors file; errors name the file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return f, nil
}
