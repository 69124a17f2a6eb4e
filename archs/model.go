package archs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Param is one trainable tensor of a model.
type Param struct {
	Name string
	T    *tensor.Dense
}

// Data is the parameter's float32 storage.
func (p *Param) Data() []float32 { return p.T.Float32s() }

// Model is an architecture with its weights, BatchNorm moving statistics and
// dropout random streams. Graphs for any batch size and mode share them.
type Model struct {
	Spec   Spec
	Params []*Param
	BN     []*BNState
	Drops  []*rand.PCG
	Layers []string    // one line per layer, from the first build
	Info   []LayerInfo // the same layers, structured (describe.go)

	seed     uint64
	init     *rand.Rand
	graphs   map[graphKey]*Graph
	oneGraph bool // see KeepOneGraph
}

// KeepOneGraph makes the model keep one compiled graph at a time (besides
// the small batch-1 one it is described with): building another first drops
// the rest and collects their buffers, so that memory peaks at the largest
// graph rather than at the sum of a training graph, the smaller one of an
// epoch's last batch and the evaluation graph. Training switches graphs three
// times an epoch, each a rebuild (graph and first-run buffers): for CNN2
// about 0.14 s an epoch (65, 40 and 30 ms measured per switch), 1% of its
// 13 s, for 60% less memory.
func (m *Model) KeepOneGraph() { m.oneGraph = true }

type graphKey struct {
	batch    int
	training bool
}

// Spec names an architecture and its recipe.
type Spec struct {
	Name   string
	Title  string // as the seed's comparison table calls it
	Seed   bool   // in the seed's own list of trainable models (all_cnn is not)
	Recipe Recipe
	// Classes is the number of outputs; 0 means the ten Fashion-MNIST
	// classes. Detection variants have an eleventh, background.
	Classes int
	// Detection: a detector's classifier (ten classes and background),
	// trained on crops of synthetic scenes rather than on the data set.
	Detection bool
	// PeakScale multiplies a single-phase Adam recipe's learning rate in
	// the improved recipe (RecipeNamed); 0 means 2.
	PeakScale float64
	// Improve, when set, adjusts the improved recipe after the additions
	// every model gets (RecipeNamed), for what was measured on this model.
	Improve func(r *Recipe)
	build   func(b *Builder, x *G.Node) *G.Node
}

// NumClasses is the number of outputs (logits) of the architecture.
func (s Spec) NumClasses() int {
	if s.Classes > 0 {
		return s.Classes
	}
	return 10
}

// Specs returns the six architectures in the seed's order.
func Specs() []Spec { return specs }

// Names returns the architecture names.
func Names() []string {
	n := make([]string, len(specs))
	for i, s := range specs {
		n[i] = s.Name
	}
	return n
}

// AllNames returns the names of the six architectures and of the
// detection models, as Lookup knows them.
func AllNames() []string {
	var n []string
	for _, s := range slices.Concat(specs, detSpecs) {
		n = append(n, s.Name)
	}
	return n
}

// Lookup finds an architecture by name (case-insensitive).
func Lookup(name string) (Spec, error) {
	for _, s := range slices.Concat(specs, detSpecs) {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(AllNames(), ", "))
}

// New creates a model with freshly initialised weights; seed makes the
// initialisation and the dropout streams reproducible.
func New(name string, seed uint64) (*Model, error) {
	spec, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	m := &Model{Spec: spec, seed: seed, init: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), graphs: map[graphKey]*Graph{}}
	if _, err := m.Graph(1, false); err != nil {
		return nil, fmt.Errorf("%s: building graph: %w", name, err)
	}
	return m, nil
}

// ParamCount counts parameters the way Keras does: every weight and bias, and
// four per BatchNorm feature (gamma, beta, moving mean, moving variance).
func (m *Model) ParamCount() int {
	n := 0
	for _, p := range m.Params {
		n += p.T.Shape().TotalSize()
	}
	for _, s := range m.BN {
		n += 2 * len(s.Mean)
	}
	return n
}

// Builder assembles a model's graph. Parameters, BatchNorm states and dropout
// streams are created on the first build and looked up, in the same order, on
// every later one.
type Builder struct {
	m          *Model
	g          *G.ExprGraph
	training   bool
	first      bool
	pi, bi, di int
	counts     map[string]int
	err        error
	names      map[*G.Node]string // layer name of each layer's output (describe.go)
}

func (b *Builder) fail(err error) *G.Node {
	if b.err == nil {
		b.err = err
	}
	return nil
}

func (b *Builder) layer(kind string, out tensor.Shape, params int, detail string) string {
	b.counts[kind]++
	name := fmt.Sprintf("%s_%d", kind, b.counts[kind])
	if b.first {
		dims := make([]string, len(out)-1)
		for i, d := range out[1:] {
			dims[i] = fmt.Sprint(d)
		}
		b.m.Layers = append(b.m.Layers, fmt.Sprintf("%-26s %-22s %-12s %9d", name, detail, strings.Join(dims, "x"), params))
	}
	return name
}

type initFn func(r *rand.Rand, w []float32, fanIn, fanOut int)

func glorotUniform(r *rand.Rand, w []float32, fanIn, fanOut int) {
	lim := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = float32((r.Float64()*2 - 1) * lim)
	}
}

// kerasRandomUniform is Keras' 'random_uniform': U(-0.05, 0.05).
func kerasRandomUniform(r *rand.Rand, w []float32, _, _ int) {
	for i := range w {
		w[i] = float32((r.Float64()*2 - 1) * 0.05)
	}
}

// kerasRandomNormal is Keras' 'RandomNormal': N(0, 0.05^2).
func kerasRandomNormal(r *rand.Rand, w []float32, _, _ int) {
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.05)
	}
}

func zeros(*rand.Rand, []float32, int, int) {}

func ones(_ *rand.Rand, w []float32, _, _ int) {
	for i := range w {
		w[i] = 1
	}
}

func (b *Builder) param(name string, shape []int, init initFn, fanIn, fanOut int) *G.Node {
	if b.first {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		init(b.m.init, t.Float32s(), fanIn, fanOut)
		b.m.Params = append(b.m.Params, &Param{Name: name, T: t})
	}
	if b.pi >= len(b.m.Params) {
		return b.fail(fmt.Errorf("parameter %s: model has only %d", name, len(b.m.Params)))
	}
	p := b.m.Params[b.pi]
	b.pi++
	if !p.T.Shape().Eq(tensor.Shape(shape)) {
		return b.fail(fmt.Errorf("parameter %s has shape %v, want %v", name, p.T.Shape(), shape))
	}
	return G.NodeFromAny(b.g, p.T, G.WithName(name))
}

// Conv is a Keras Conv2D on NCHW data. kinit/binit default to glorot/zeros.
func (b *Builder) Conv(x *G.Node, cout, k, stride int, same, relu bool, kinit, binit initFn) *G.Node {
	if b.err != nil {
		return nil
	}
	w, bias := b.convParams(x, cout, k, kinit, binit)
	if b.err != nil {
		return nil
	}
	// The input image needs no gradient.
	needDX := x.Op() != nil
	y, err := Conv2D(x, w, bias, k, stride, same, relu, needDX)
	if err != nil {
		return b.fail(err)
	}
	b.convLayer(y.Shape(), x.Shape()[1], k, stride, same, relu)
	b.describe("conv2d", y, convInfo(cout, k, stride, same, relu), x)
	return y
}

// convParams creates (first build) or looks up the kernel and bias of the
// next conv2d layer reading x. kinit/binit default to glorot/zeros.
func (b *Builder) convParams(x *G.Node, cout, k int, kinit, binit initFn) (w, bias *G.Node) {
	if kinit == nil {
		kinit = glorotUniform
	}
	if binit == nil {
		binit = zeros
	}
	cin := x.Shape()[1]
	name := fmt.Sprintf("conv2d_%d", b.counts["conv2d"]+1)
	w = b.param(name+".kernel", []int{cout, cin * k * k}, kinit, cin*k*k, cout*k*k)
	bias = b.param(name+".bias", []int{cout}, binit, 0, 0)
	return w, bias
}

// convLayer adds the layer line of a conv2d with output shape out.
func (b *Builder) convLayer(out tensor.Shape, cin, k, stride int, same, relu bool) {
	act := ""
	if relu {
		act = " relu"
	}
	cout := out[1]
	b.layer("conv2d", out, cout*cin*k*k+cout, fmt.Sprintf("%dx%d/%d %s%s", k, k, stride, padding(same), act))
}

func convInfo(cout, k, stride int, same, relu bool) LayerInfo {
	return LayerInfo{Filters: cout, Kernel: k, Stride: stride, Padding: padding(same), Activation: activation(relu)}
}

// BN is a Keras BatchNormalization over NCHW axis `axis` (1: channels).
func (b *Builder) BN(x *G.Node, axis int) *G.Node {
	if b.err != nil {
		return nil
	}
	c := x.Shape()[axis]
	name := fmt.Sprintf("batch_normalization_%d", b.counts["batch_normalization"]+1)
	gamma := b.param(name+".gamma", []int{c}, ones, 0, 0)
	beta := b.param(name+".beta", []int{c}, zeros, 0, 0)
	if b.err != nil {
		return nil
	}
	if b.first {
		b.m.BN = append(b.m.BN, newBNState(c))
	}
	st := b.m.BN[b.bi]
	b.bi++
	y, err := BatchNorm(x, gamma, beta, axis, st, b.training)
	if err != nil {
		return b.fail(err)
	}
	detail := "channels"
	if axis == 2 {
		detail = "height axis"
	}
	b.layer("batch_normalization", y.Shape(), 4*c, detail)
	b.describe("batch_normalization", y, LayerInfo{Axis: axis, Momentum: bnMomentum, Epsilon: bnEpsilon}, x)
	return y
}

// dropStream creates (first build) or looks up the next dropout layer's
// random stream.
func (b *Builder) dropStream() *rand.PCG {
	if b.first {
		b.m.Drops = append(b.m.Drops, rand.NewPCG(b.m.seed, uint64(len(b.m.Drops))+1))
	}
	rng := b.m.Drops[b.di]
	b.di++
	return rng
}

// Dropout with the given rate.
func (b *Builder) Dropout(x *G.Node, rate float64) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := Dropout(x, rate, b.dropStream(), b.training)
	if err != nil {
		return b.fail(err)
	}
	b.layer("dropout", y.Shape(), 0, fmt.Sprintf("rate %g", rate))
	b.describe("dropout", y, LayerInfo{Rate: rate}, x)
	return y
}

// MaxPool is MaxPooling2D(2x2).
func (b *Builder) MaxPool(x *G.Node, same bool) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := maxPool2x2(x, same, !b.training)
	if err != nil {
		return b.fail(err)
	}
	pad := "valid"
	if same {
		pad = "same"
	}
	b.layer("max_pooling2d", y.Shape(), 0, "2x2 "+pad)
	b.describe("max_pooling2d", y, LayerInfo{Kernel: 2, Stride: 2, Padding: pad}, x)
	return y
}

// Add is the residual add (broadcasting a 1-channel a over b's channels).
func (b *Builder) Add(a, x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := AddChannels(a, x)
	if err != nil {
		return b.fail(err)
	}
	b.layer("add", y.Shape(), 0, "residual")
	b.describe("add", y, LayerInfo{}, a, x)
	return y
}

// fuseEval lets evaluation graphs use convPoolOp (tests turn it off to
// build the unfused reference).
var fuseEval = true

// ResidualBlock is a CNN2-family block after its BatchNorm bn: Conv(3x3
// same, ReLU) of bn, Dropout(drop) if drop > 0, add bn, MaxPool(2x2 same).
// Training graphs build the convolution, the dropout and the fused add and
// pool; evaluation graphs build one convPoolOp (dropout is the identity
// there), with the same parameters, streams and layer descriptions.
func (b *Builder) ResidualBlock(bn *G.Node, filters int, drop float64, kinit, binit initFn) *G.Node {
	if b.training || !fuseEval {
		c := b.Conv(bn, filters, 3, 1, true, true, kinit, binit)
		if drop > 0 {
			c = b.Dropout(c, drop)
		}
		return b.AddMaxPool(bn, c, true)
	}
	if b.err != nil {
		return nil
	}
	w, bias := b.convParams(bn, filters, 3, kinit, binit)
	if b.err != nil {
		return nil
	}
	y, err := ConvAddPool(bn, w, bias, bn, 3)
	if err != nil {
		return b.fail(err)
	}
	s := bn.Shape()
	convShape := tensor.Shape{s[0], filters, s[2], s[3]}
	b.convLayer(convShape, s[1], 3, 1, true, true)
	last := b.describeShape("conv2d", convShape, convInfo(filters, 3, 1, true, true), bn)
	if drop > 0 {
		b.dropStream() // dropout is the identity here; its stream stays in step
		b.layer("dropout", convShape, 0, fmt.Sprintf("rate %g", drop))
		last = b.describeNamed("dropout", convShape, LayerInfo{Rate: drop}, last)
	}
	b.addPoolLayers(convShape, y, true, b.names[bn], last)
	return y
}

// AddMaxPool is Add(a, x) then MaxPool(same) in one fused op. The two Keras
// layers keep their names and descriptions (add_N, then max_pooling2d_N
// reading it); only the sum is never materialised.
func (b *Builder) AddMaxPool(a, x *G.Node, same bool) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := addMaxPool2x2(a, x, same, !b.training)
	if err != nil {
		return b.fail(err)
	}
	b.addPoolLayers(x.Shape(), y, same, b.inputName(a), b.inputName(x))
	return y
}

// addPoolLayers records the add of layers a and x (output sum, never a node
// of its own) and the max pool y reading it.
func (b *Builder) addPoolLayers(sum tensor.Shape, y *G.Node, same bool, a, x string) {
	b.layer("add", sum, 0, "residual")
	add := b.describeNamed("add", sum, LayerInfo{}, a, x)
	b.layer("max_pooling2d", y.Shape(), 0, "2x2 "+padding(same))
	b.names[y] = b.describeNamed("max_pooling2d", y.Shape(), LayerInfo{Kernel: 2, Stride: 2, Padding: padding(same)}, add)
}

// Flatten keeps the batch axis.
func (b *Builder) Flatten(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := Flatten(x)
	if err != nil {
		return b.fail(err)
	}
	b.layer("flatten", y.Shape(), 0, "")
	b.describe("flatten", y, LayerInfo{}, x)
	return y
}

// Dense is a Keras Dense on [N, in].
func (b *Builder) Dense(x *G.Node, units int, relu bool) *G.Node {
	if b.err != nil {
		return nil
	}
	in := x.Shape()[1]
	name := fmt.Sprintf("dense_%d", b.counts["dense"]+1)
	w := b.param(name+".kernel", []int{in, units}, glorotUniform, in, units)
	bias := b.param(name+".bias", []int{units}, zeros, 0, 0)
	if b.err != nil {
		return nil
	}
	y, err := Dense(x, w, bias, relu, x.Op() != nil)
	if err != nil {
		return b.fail(err)
	}
	act := ""
	if relu {
		act = "relu"
	}
	b.layer("dense", y.Shape(), in*units+units, act)
	b.describe("dense", y, LayerInfo{Units: units, Activation: activation(relu)}, x)
	return y
}

// ChannelDenseSoftmax is a Keras Dense(units, softmax) applied to a 4-D
// channels-last tensor: it acts on the channel axis at every position, which
// on NCHW data is a 1x1 convolution followed by a softmax over channels.
func (b *Builder) ChannelDenseSoftmax(x *G.Node, units int) *G.Node {
	if b.err != nil {
		return nil
	}
	cin := x.Shape()[1]
	name := fmt.Sprintf("dense_%d", b.counts["dense"]+1)
	w := b.param(name+".kernel", []int{units, cin}, glorotUniform, cin, units)
	bias := b.param(name+".bias", []int{units}, zeros, 0, 0)
	if b.err != nil {
		return nil
	}
	y, err := Conv2D(x, w, bias, 1, 1, false, false, true)
	if err != nil {
		return b.fail(err)
	}
	if y, err = Softmax(y, 1); err != nil {
		return b.fail(err)
	}
	b.layer("dense", y.Shape(), cin*units+units, "softmax, per position")
	b.describe("dense", y, LayerInfo{Units: units, Activation: "softmax", PerPosition: true}, x)
	return y
}

// GlobalAvgPool is GlobalAveragePooling2D.
func (b *Builder) GlobalAvgPool(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := GlobalAvgPool(x)
	if err != nil {
		return b.fail(err)
	}
	b.layer("global_average_pooling2d", y.Shape(), 0, "")
	b.describe("global_average_pooling2d", y, LayerInfo{}, x)
	return y
}

// Graph is one compiled graph of a model for a fixed batch size and mode.
// Training graphs compute the loss and the gradients of every parameter.
type Graph struct {
	Batch    int
	Training bool
	// Smoothing is label smoothing for training runs: targets are
	// (1-Smoothing)*onehot + Smoothing/K.
	Smoothing float32
	// KerasClip trains as Keras 2.2's categorical cross-entropy did: the
	// softmax's probabilities clipped to [1e-7, 1-1e-7], so that a class
	// predicted beyond the clip passes no gradient.
	KerasClip bool

	m      *Model
	g      *G.ExprGraph
	vm     G.VM
	x, y   *G.Node
	logits *G.Node
	loss   *G.Node
	grads  G.Nodes
	xT, yT *tensor.Dense
}

// Graph returns the (cached) graph for this batch size and mode.
func (m *Model) Graph(batch int, training bool) (*Graph, error) {
	key := graphKey{batch, training}
	if gr, ok := m.graphs[key]; ok {
		return gr, nil
	}
	if m.oneGraph && len(m.graphs) > 0 {
		m.DropGraphs()
		// Twice: closing a tape machine leaves some of its values in
		// sync.Pools, whose contents survive one collection.
		runtime.GC()
		runtime.GC()
	}
	gr := &Graph{Batch: batch, Training: training, m: m, g: G.NewGraph()}
	gr.xT = tensor.New(tensor.WithShape(batch, 1, 28, 28), tensor.Of(tensor.Float32))
	gr.x = G.NodeFromAny(gr.g, gr.xT, G.WithName("x"))
	b := &Builder{m: m, g: gr.g, training: training, first: m.Params == nil, counts: map[string]int{}, names: map[*G.Node]string{}}
	gr.logits = m.Spec.build(b, gr.x)
	if b.err != nil {
		return nil, b.err
	}
	if b.pi != len(m.Params) {
		return nil, fmt.Errorf("graph used %d of %d parameters", b.pi, len(m.Params))
	}
	if training {
		gr.yT = tensor.New(tensor.WithShape(batch, m.Spec.NumClasses()), tensor.Of(tensor.Float32))
		gr.y = G.NodeFromAny(gr.g, gr.yT, G.WithName("y"))
		var err error
		if gr.loss, err = SoftmaxCrossEntropy(gr.logits, gr.y); err != nil {
			return nil, err
		}
		wrt := make(G.Nodes, len(m.Params))
		for i, p := range m.Params {
			wrt[i] = gr.g.ByName(p.Name)[0]
		}
		if gr.grads, err = G.Grad(gr.loss, wrt...); err != nil {
			return nil, fmt.Errorf("gradients: %w", err)
		}
	}
	gr.vm = G.NewTapeMachine(gr.g)
	m.graphs[key] = gr
	return gr, nil
}

// DropGraphs forgets every compiled graph but those of the given batch sizes
// (their buffers are then garbage).
func (m *Model) DropGraphs(keep ...int) {
	for k, gr := range m.graphs {
		if k.batch == 1 && !k.training {
			continue
		}
		if !containsInt(keep, k.batch) {
			gr.vm.Close()
			delete(m.graphs, k)
			// Cut the links to the compiled graph and its buffers, so that
			// a caller still holding gr does not keep them alive.
			*gr = Graph{Batch: gr.Batch, Training: gr.Training, m: m}
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Run executes the graph on a batch of images (batch x 784, [0,1]) and, for a
// training graph, their labels.
func (gr *Graph) Run(images []float32, labels []uint8) error {
	n := gr.Batch
	if len(images) != n*784 {
		return fmt.Errorf("batch of %d images for a graph of batch %d", len(images)/784, n)
	}
	copy(gr.xT.Float32s(), images)
	if gr.Training {
		if op, ok := gr.loss.Op().(*xentOp); ok {
			op.clip = gr.KerasClip
		}
		y := gr.yT.Float32s()
		k := gr.m.Spec.NumClasses()
		off, on := float32(0), float32(1)
		if gr.Smoothing > 0 {
			off = gr.Smoothing / float32(k)
			on = 1 - gr.Smoothing + off
		}
		for i := range y {
			y[i] = off
		}
		if len(labels) < n {
			return fmt.Errorf("%d labels for a batch of %d", len(labels), n)
		}
		for i, l := range labels[:n] {
			if int(l) >= k {
				return fmt.Errorf("label %d of image %d is out of range for %s's %d classes", l, i, gr.m.Spec.Name, k)
			}
			y[i*k+int(l)] = on
		}
	}
	defer gr.vm.Reset()
	return gr.vm.RunAll()
}

// Logits of the last run, batch x classes.
func (gr *Graph) Logits() []float32 { return f32(gr.logits.Value()) }

// Loss of the last training run.
func (gr *Graph) Loss() float64 { return float64(f32(gr.loss.Value())[0]) }

// Grads of the last training run, in the order of Model.Params.
func (gr *Graph) Grads() [][]float32 {
	out := make([][]float32, len(gr.grads))
	for i, n := range gr.grads {
		out[i] = f32(n.Value())
	}
	return out
}

// sortedNames is used by tests and summaries.
func sortedNames(ps []*Param) []string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.Name
	}
	sort.Strings(n)
	return n
}
