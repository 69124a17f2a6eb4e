package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := Encode(map[string]string{"format": "pt", "epoch": "3"}, []Tensor{
		F32("conv.kernel", []int{2, 1, 2, 2}, []float32{1, -2, 3.5, 4, 5, 6, 7, -8.25}),
		F32("conv.bias", []int{2}, []float32{0.5, -0.5}),
		{Name: "step", DType: "I64", Shape: []int{}, Data: []byte{7, 0, 0, 0, 0, 0, 0, 0}},
		F32("empty", []int{0, 3}, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripAndLayout(t *testing.T) {
	b := sample(t)
	n := binary.LittleEndian.Uint64(b)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not a multiple of 8", 8+n)
	}
	// The header is plain JSON that any reader (Python's json) parses.
	var hdr map[string]any
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	k := hdr["conv.kernel"].(map[string]any)
	if k["dtype"] != "F32" || len(k["shape"].([]any)) != 4 {
		t.Errorf("conv.kernel entry %v", k)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["epoch"] != "3" || len(f.Tensors) != 4 {
		t.Fatalf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	kt, ok := f.Tensor("conv.kernel")
	if !ok {
		t.Fatal("conv.kernel missing")
	}
	v, err := kt.Float32s()
	if err != nil || !slices.Equal(v, []float32{1, -2, 3.5, 4, 5, 6, 7, -8.25}) || !slices.Equal(kt.Shape, []int{2, 1, 2, 2}) {
		t.Errorf("conv.kernel %v %v %v", kt.Shape, v, err)
	}
	// Little-endian F32: 1.0 is 00 00 80 3f.
	if !bytes.Equal(kt.Data[:4], []byte{0, 0, 0x80, 0x3f}) {
		t.Errorf("first value bytes % x", kt.Data[:4])
	}
	st, _ := f.Tensor("step")
	if _, err := st.Float32s(); err == nil || !strings.Contains(err.Error(), "dtype I64") {
		t.Errorf("I64 as F32: %v", err)
	}
}

// withHeader builds a file from a literal header and data section.
func withHeader(h string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), data...)
}

func TestCorruptFilesAreRefused(t *testing.T) {
	good := sample(t)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":                {nil, "shorter than the 8-byte header length"},
		"truncated data":       {good[:len(good)-3], "truncated"},
		"header beyond file":   {withHeader(`{}`, nil)[:9], "goes beyond the end of the file"},
		"huge header":          {binary.LittleEndian.AppendUint64(nil, 1<<40), "over the"},
		"not json":             {withHeader(`hello!!!`, nil), "not a JSON object"},
		"broken json":          {withHeader(`{"a":{"dtype":"F32",`, nil), "invalid JSON"},
		"unknown dtype":        {withHeader(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `unknown dtype "F31"`},
		"wrong size":           {withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8"},
		"offsets reversed":     {withHeader(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)), "end before they begin"},
		"out of range":         {withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 4)), "go beyond the 4 bytes"},
		"overlap":              {withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		"gap":                  {withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "gap"},
		"trailing data":        {withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "after the last tensor"},
		"missing field":        {withHeader(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), "needs dtype, shape and data_offsets"},
		"unknown field":        {withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), "unknown field"},
		"negative dim":         {withHeader(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "invalid shape"},
		"duplicate name":       {withHeader(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), "appears twice"},
		"metadata not strings": {withHeader(`{"__metadata__":{"a":1}}`, nil), "not an object of strings"},
		"text after object":    {withHeader(`{} x`, nil), "text after the JSON object"},
	}
	for name, c := range cases {
		_, err := Decode(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error has several lines: %q", name, err)
		}
	}
}

func TestReadFileNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.safetensors")
	os.WriteFile(p, []byte("short"), 0o644)
	_, err := ReadFile(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("error %v does not start with the path", err)
	}
	_, err = ReadFile(p + ".missing")
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEncodeRefusesBadTensors(t *testing.T) {
	for _, ts := range [][]Tensor{
		{F32("a", []int{2}, []float32{1})},
		{F32("a", []int{1}, []float32{1}), F32("a", []int{1}, []float32{1})},
		{F32("__metadata__", []int{1}, []float32{1})},
		{{Name: "a", DType: "X", Shape: []int{1}, Data: []byte{1}}},
	} {
		if _, err := Encode(nil, ts); err == nil {
			t.Errorf("Encode(%v) succeeded", ts[0].Name)
		}
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to a
// file that decodes to the same tensors and metadata. Seeds: f.Add below and
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add(sample(f))
	f.Add(withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		enc, err := Encode(file.Metadata, file.Tensors)
		if err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoded file: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("round trip: %d/%d tensors, %d/%d metadata", len(again.Tensors), len(file.Tensors), len(again.Metadata), len(file.Metadata))
		}
		for k, v := range file.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("metadata %q: %q then %q", k, v, again.Metadata[k])
			}
		}
		for i, a := range file.Tensors {
			b := again.Tensors[i]
			if a.Name != b.Name || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("tensor %d changed in the round trip: %s %s %v -> %s %s %v", i, a.Name, a.DType, a.Shape, b.Name, b.DType, b.Shape)
			}
		}
	})
}
