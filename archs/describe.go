package archs

import (
	"fmt"
	"strings"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerInfo is the structured description of one layer, recorded on a
// model's first build (Model.Info), in execution order. Shapes are per image
// in our NCHW layout: [C, H, W] for maps, [features] after Flatten.
type LayerInfo struct {
	Name   string   // conv2d_1, batch_normalization_2, ... (Keras' default names)
	Type   string   // one of LayerTypes
	Inputs []string // names of the layers it reads; "input" is the image
	Output []int    // per-image output shape
	Params int      // Keras count (BatchNorm: four per feature)

	// Settings; zero when they do not apply to the layer type.
	Filters    int     // conv2d: output channels
	Kernel     int     // conv2d: square kernel size; max_pooling2d: pool size
	Stride     int     // conv2d, max_pooling2d
	Padding    string  // conv2d, max_pooling2d: "same" (TensorFlow: extra pixel bottom/right) or "valid"
	Activation string  // conv2d, dense: "relu", "softmax" or "linear"
	Axis       int     // batch_normalization: NCHW axis normalised (1 channels, 2 height)
	Momentum   float64 // batch_normalization (Keras convention: weight of the old value)
	Epsilon    float64 // batch_normalization
	Rate       float64 // dropout
	Units      int     // dense
	// PerPosition marks model5's Dense(128, softmax) on a 4-D tensor: it acts
	// on the channel axis at every position (a 1x1 convolution + channel softmax).
	PerPosition bool
}

// LayerTypes are the layer types a model can contain.
var LayerTypes = []string{"conv2d", "batch_normalization", "dropout", "max_pooling2d", "add",
	"flatten", "dense", "global_average_pooling2d"}

// KnownLayerType reports whether t is one of LayerTypes.
func KnownLayerType(t string) bool {
	for _, k := range LayerTypes {
		if k == t {
			return true
		}
	}
	return false
}

// describe records the structured description of the layer just added by
// b.layer(kind, ...) (so the layer's name is kind_<count>), with output y read
// from inputs. Only the first build records.
func (b *Builder) describe(kind string, y *G.Node, info LayerInfo, inputs ...*G.Node) {
	b.names[y] = b.describeShape(kind, y.Shape(), info, inputs...)
}

// describeShape records a layer by its per-batch output shape (also one
// that has no node of its own, such as the add of a fused add and pool),
// and returns its name.
func (b *Builder) describeShape(kind string, shape tensor.Shape, info LayerInfo, inputs ...*G.Node) string {
	var names []string
	for _, x := range inputs {
		names = append(names, b.inputName(x))
	}
	return b.describeNamed(kind, shape, info, names...)
}

// inputName is the name of the layer whose output x is ("input" for the image).
func (b *Builder) inputName(x *G.Node) string {
	if n, ok := b.names[x]; ok {
		return n
	}
	return "input"
}

// describeNamed is describeShape with the inputs given by their layer names.
func (b *Builder) describeNamed(kind string, shape tensor.Shape, info LayerInfo, inputs ...string) string {
	name := fmt.Sprintf("%s_%d", kind, b.counts[kind])
	if !b.first {
		return name
	}
	info.Name, info.Type, info.Inputs = name, kind, inputs
	info.Output = append([]int(nil), shape[1:]...)
	for _, p := range b.m.Params {
		if strings.HasPrefix(p.Name, name+".") {
			info.Params += p.T.Shape().TotalSize()
		}
	}
	if kind == "batch_normalization" {
		info.Params += 2 * shape[info.Axis] // moving mean and variance
	}
	b.m.Info = append(b.m.Info, info)
	return name
}

func padding(same bool) string {
	if same {
		return "same"
	}
	return "valid"
}

func activation(relu bool) string {
	if relu {
		return "relu"
	}
	return "linear"
}

var (
	describeMu    sync.Mutex
	describeCache = map[string]*Model{}
)

// describeModel is a fresh model of the architecture, built once.
func describeModel(name string) (*Model, error) {
	spec, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	describeMu.Lock()
	defer describeMu.Unlock()
	if m, ok := describeCache[spec.Name]; ok {
		return m, nil
	}
	m, err := New(spec.Name, 0)
	if err != nil {
		return nil, err
	}
	describeCache[spec.Name] = m
	return m, nil
}

// Describe returns the layers of architecture name (Model.Info of a fresh
// model, computed once per architecture; do not modify).
func Describe(name string) ([]LayerInfo, error) {
	m, err := describeModel(name)
	if err != nil {
		return nil, err
	}
	return m.Info, nil
}

// DescribeTensors returns the exported tensors of architecture name.
func DescribeTensors(name string) ([]TensorInfo, error) {
	m, err := describeModel(name)
	if err != nil {
		return nil, err
	}
	return m.TensorInfos()
}
