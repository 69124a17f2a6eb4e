package results

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"fmnist/archs"
	"fmnist/safetensors"
	"fmnist/trainer"
)

// A saved model is a directory holding two files:
//
//	model.yaml         the architecture (layers with types, shapes, settings
//	                   and weight names), input size and scaling, class
//	                   names, data layout, and the run/epoch it came from
//	model.safetensors  every weight and BatchNorm statistic (see archs/state.go
//	                   and the README for names and layouts)
//
// Every run directory keeps two: best/ (the epoch with the highest test
// accuracy, rewritten only when it improves) and final/ (the last finished
// epoch), next to run.json and checkpoint.safetensors.
const (
	ModelYAML    = "model.yaml"
	ModelWeights = "model.safetensors"
	BestDir      = "best"
	FinalDir     = "final"
	modelFormat  = "fmnist-model/1"
	// BackgroundName is the name of a detection model's eleventh class.
	BackgroundName = "background"
)

// ModelDoc is model.yaml.
type ModelDoc struct {
	Format       string      `yaml:"format"`
	Architecture string      `yaml:"architecture"`
	Title        string      `yaml:"title"`
	Params       int         `yaml:"params"` // Keras count
	Input        InputDoc    `yaml:"input"`
	Output       string      `yaml:"output"`
	Classes      []string    `yaml:"classes"`
	Layout       LayoutDoc   `yaml:"layout"`
	Source       SourceDoc   `yaml:"source"`
	Layers       []LayerDoc  `yaml:"layers"`
	Weights      WeightsFile `yaml:"weights"`
	// Detection is set for a detection model (ten classes and background).
	Detection *DetectionDoc `yaml:"detection,omitempty"`
}

// DetectionDoc describes a detection model's extra output and the
// threshold chosen for it on validation scenes.
type DetectionDoc struct {
	BackgroundClass int     `yaml:"background_class"` // output index of background
	Threshold       float64 `yaml:"threshold"`        // keep a label whose probability is above this
	// Relabel: detect classifies each refined box again (detector.Config);
	// absent in files written before it was chosen on validation (then on).
	Relabel   *bool   `yaml:"relabel,omitempty"`
	ChosenOn  string  `yaml:"chosen_on"`
	Precision float64 `yaml:"val_precision"`
	Recall    float64 `yaml:"val_recall"`
	MeanIoU   float64 `yaml:"val_mean_iou"`
}

// InputDoc describes what the model expects.
type InputDoc struct {
	Height   int       `yaml:"height"`
	Width    int       `yaml:"width"`
	Channels int       `yaml:"channels"`
	Scaling  string    `yaml:"scaling"`
	Range    []float64 `yaml:"range,flow"`
	Polarity string    `yaml:"polarity"`
}

// LayoutDoc describes how tensors are laid out.
type LayoutDoc struct {
	Data        string `yaml:"data"`
	Flatten     string `yaml:"flatten"`
	ConvKernel  string `yaml:"conv_kernel"`
	DenseKernel string `yaml:"dense_kernel"`
}

// SourceDoc says where the weights come from.
type SourceDoc struct {
	Run       string  `yaml:"run"`
	Kind      string  `yaml:"kind"` // best or final
	Epoch     int     `yaml:"epoch"`
	TestAcc   float64 `yaml:"test_acc"`
	TestLoss  float64 `yaml:"test_loss"`
	TestSize  int     `yaml:"test_size"`
	TrainSize int     `yaml:"train_size"`
	// ValSize and ValAcc: the validation images held out of training, on
	// which the best epoch was chosen, and the accuracy on them (absent:
	// chosen on the test set, the seed's way).
	ValSize int     `yaml:"val_size,omitempty"`
	ValAcc  float64 `yaml:"val_acc,omitempty"`
	Seed    int64   `yaml:"seed"`
	// Recipe is the recipe the run trained with, in one line.
	Recipe string `yaml:"recipe,omitempty"`
	// Extra are the epoch's own figures (trainer.EpochStats.Extra).
	Extra map[string]float64 `yaml:"extra,omitempty"`
}

// check refuses sizes and an epoch below zero: eval rebuilds a run's
// images from them.
func (s SourceDoc) check() error {
	if s.Epoch < 0 || s.TestSize < 0 || s.TrainSize < 0 || s.ValSize < 0 {
		return fmt.Errorf("negative epoch or image count (epoch %d, train %d, val %d, test %d)", s.Epoch, s.TrainSize, s.ValSize, s.TestSize)
	}
	return nil
}

// WeightsFile names the weights file and its format.
type WeightsFile struct {
	File   string `yaml:"file"`
	Format string `yaml:"format"`
}

// LayerDoc is one layer of model.yaml (archs.LayerInfo, with its weights).
type LayerDoc struct {
	Name        string      `yaml:"name"`
	Type        string      `yaml:"type"`
	Inputs      []string    `yaml:"inputs,flow"`
	Output      []int       `yaml:"output,flow"`
	Params      int         `yaml:"params"`
	Filters     int         `yaml:"filters,omitempty"`
	KernelSize  int         `yaml:"kernel_size,omitempty"`
	PoolSize    int         `yaml:"pool_size,omitempty"`
	Strides     int         `yaml:"strides,omitempty"`
	Padding     string      `yaml:"padding,omitempty"`
	Units       int         `yaml:"units,omitempty"`
	Activation  string      `yaml:"activation,omitempty"`
	PerPosition bool        `yaml:"per_position,omitempty"`
	Axis        int         `yaml:"axis,omitempty"`
	Momentum    float64     `yaml:"momentum,omitempty"`
	Epsilon     float64     `yaml:"epsilon,omitempty"`
	Rate        float64     `yaml:"rate,omitempty"`
	Weights     []WeightDoc `yaml:"weights,omitempty"`
}

// WeightDoc names one tensor of model.safetensors.
type WeightDoc struct {
	Name   string `yaml:"name"`
	Shape  []int  `yaml:"shape,flow"`
	Layout string `yaml:"layout"`
}

// archDoc is the part of model.yaml that depends only on the architecture.
func archDoc(arch string) (*ModelDoc, error) {
	spec, err := archs.Lookup(arch)
	if err != nil {
		return nil, err
	}
	infos, err := archs.Describe(spec.Name)
	if err != nil {
		return nil, err
	}
	tensors, err := archs.DescribeTensors(spec.Name)
	if err != nil {
		return nil, err
	}
	d := &ModelDoc{
		Format:       modelFormat,
		Architecture: spec.Name,
		Title:        spec.Title,
		Input: InputDoc{Height: 28, Width: 28, Channels: 1, Scaling: "pixel / 255", Range: []float64{0, 1},
			Polarity: "light item on a black background (Fashion-MNIST)"},
		Output:  "10 logits, one per class (the Keras models end in Dense(10, softmax); here the softmax is part of the loss): softmax gives the probabilities",
		Classes: trainer.ClassNames[:],
		Layout: LayoutDoc{
			Data:        "NCHW (batch, channels, height, width)",
			Flatten:     "C,H,W order (Keras flattens H,W,C: permute the rows of the first dense kernel after a flatten)",
			ConvKernel:  "[out_channels, in_channels, kernel_height, kernel_width] (PyTorch; Keras wants [kh, kw, in, out])",
			DenseKernel: "[in, out] (Keras; PyTorch Linear.weight is its transpose)",
		},
		Weights: WeightsFile{File: ModelWeights, Format: "safetensors, F32, little-endian"},
	}
	if spec.Detection {
		d.Output = "11 logits: the ten classes, then background (crops that hold no item, or only part of one, or too much around it); softmax gives the probabilities"
		d.Classes = append(slices.Clone(trainer.ClassNames[:]), BackgroundName)
		d.Input.Polarity = "a crop prepared by the detector: squared, item made light on black, border level 0, brightest 1"
		d.Detection = &DetectionDoc{BackgroundClass: trainer.NumClasses}
	}
	byName := map[string]archs.LayerInfo{}
	for _, l := range infos {
		byName[l.Name] = l
	}
	for _, l := range infos {
		ld := LayerDoc{Name: l.Name, Type: l.Type, Inputs: slices.Clone(l.Inputs), Output: slices.Clone(l.Output), Params: l.Params,
			Filters: l.Filters, Padding: l.Padding, Units: l.Units, Activation: l.Activation, PerPosition: l.PerPosition,
			Axis: l.Axis, Momentum: l.Momentum, Epsilon: l.Epsilon, Rate: l.Rate, Strides: l.Stride}
		if l.Type == "max_pooling2d" {
			ld.PoolSize = l.Kernel
		} else {
			ld.KernelSize = l.Kernel
		}
		for _, t := range tensors {
			if strings.HasPrefix(t.Name, l.Name+".") {
				w := WeightDoc{Name: t.Name, Shape: slices.Clone(t.Shape), Layout: t.Layout}
				// The rows of a dense kernel after Flatten follow our C,H,W order.
				if in := byName[l.Inputs[0]]; in.Type == "flatten" && strings.HasSuffix(t.Name, ".kernel") {
					if src, ok := byName[in.Inputs[0]]; ok && len(src.Output) == 3 {
						o := src.Output
						w.Layout = fmt.Sprintf("in, out; rows in C,H,W order of the flattened %dx%dx%d (C,H,W) tensor: row = c*%d + h*%d + w", o[0], o[1], o[2], o[1]*o[2], o[2])
					}
				}
				ld.Weights = append(ld.Weights, w)
			}
		}
		d.Layers = append(d.Layers, ld)
		d.Params += l.Params
	}
	return d, nil
}

// SaveModel writes model.safetensors and model.yaml of architecture arch to
// dir (created if needed), each atomically, weights first. tensors are in
// export layout (archs.Model.Tensors or a Snapshot's).
func SaveModel(dir, arch string, tensors []archs.Tensor, src SourceDoc) error {
	doc, err := archDoc(arch)
	if err != nil {
		return fmt.Errorf("save model %s: %v", dir, err)
	}
	doc.Source = src
	if doc.Detection != nil {
		x := src.Extra
		doc.Detection.Threshold, doc.Detection.Precision, doc.Detection.Recall, doc.Detection.MeanIoU =
			x["det_threshold"], x["det_precision"], x["det_recall"], x["det_mean_iou"]
		doc.Detection.ChosenOn = "validation scenes (val split: the training file's last 5,000 images): the threshold (and relabelling or not) with the best F1 at IoU 0.5"
		if r, ok := x["det_relabel"]; ok {
			on := r != 0
			doc.Detection.Relabel = &on
		}
		if _, ok := x["det_threshold"]; !ok {
			doc.Detection.Threshold = 0.9
			doc.Detection.ChosenOn = "none measured: the default"
		}
	}
	st := make([]safetensors.Tensor, len(tensors))
	for i, t := range tensors {
		st[i] = safetensors.F32(t.Name, t.Shape, t.Data)
	}
	meta := map[string]string{
		"fmnist.architecture": doc.Architecture,
		"fmnist.run":          src.Run,
		"fmnist.kind":         src.Kind,
		"fmnist.epoch":        strconv.Itoa(src.Epoch),
		"fmnist.test_acc":     strconv.FormatFloat(src.TestAcc, 'g', -1, 64),
		"fmnist.test_loss":    strconv.FormatFloat(src.TestLoss, 'g', -1, 64),
		"fmnist.test_size":    strconv.Itoa(src.TestSize),
		"fmnist.train_size":   strconv.Itoa(src.TrainSize),
		"fmnist.seed":         strconv.FormatInt(src.Seed, 10),
		"fmnist.layout":       "NCHW; conv kernels [out,in,kh,kw]; dense kernels [in,out]; flatten C,H,W",
	}
	weights, err := safetensors.Encode(meta, st)
	if err != nil {
		return fmt.Errorf("save model %s: %v", dir, err)
	}
	var y bytes.Buffer
	y.WriteString("# fmnist model: architecture, input, classes and origin; the weights are in model.safetensors.\n")
	enc := yaml.NewEncoder(&y)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("save model %s: %v", dir, err)
	}
	enc.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model %s: %v", dir, unwrapPath(err))
	}
	if err := WriteFileAtomic(filepath.Join(dir, ModelWeights), weights, 0o644); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, ModelYAML), y.Bytes(), 0o644)
}

// ReadModelDoc reads and validates model.yaml in dir against the
// architecture it names: unknown fields, an unknown architecture or layer
// type, or layers that differ from the architecture's are errors.
func ReadModelDoc(dir string) (*ModelDoc, error) {
	path := filepath.Join(dir, ModelYAML)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", path, unwrapPath(err))
	}
	fail := func(format string, args ...any) (*ModelDoc, error) {
		return nil, fmt.Errorf("model %s: %s", path, fmt.Sprintf(format, args...))
	}
	var doc ModelDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return fail("invalid YAML: %s", oneLine(err.Error()))
	}
	if doc.Format != modelFormat {
		return fail("format %q, want %q", doc.Format, modelFormat)
	}
	want, err := archDoc(doc.Architecture)
	if err != nil {
		return fail("unknown architecture %q (known: %s)", doc.Architecture, strings.Join(archs.AllNames(), ", "))
	}
	if doc.Architecture != want.Architecture {
		return fail("architecture %q is spelled %q", doc.Architecture, want.Architecture)
	}
	for i, l := range doc.Layers {
		if !archs.KnownLayerType(l.Type) {
			return fail("layer %d (%s) has unknown type %q (known: %s)", i+1, l.Name, l.Type, strings.Join(archs.LayerTypes, ", "))
		}
	}
	if len(doc.Layers) != len(want.Layers) {
		return fail("%d layers, architecture %s has %d", len(doc.Layers), want.Architecture, len(want.Layers))
	}
	for i := range doc.Layers {
		if f := firstDiff(doc.Layers[i], want.Layers[i]); f != "" {
			return fail("layer %d (%s %s) differs from architecture %s in %s", i+1, doc.Layers[i].Type, doc.Layers[i].Name, want.Architecture, f)
		}
	}
	if doc.Input.Height != 28 || doc.Input.Width != 28 || doc.Input.Channels != 1 {
		return fail("input %dx%dx%d, the architecture takes 28x28x1", doc.Input.Height, doc.Input.Width, doc.Input.Channels)
	}
	if len(doc.Classes) != len(want.Classes) {
		return fail("%d class names, want %d", len(doc.Classes), len(want.Classes))
	}
	if (doc.Detection != nil) != (want.Detection != nil) {
		return fail("architecture %s is %sa detection model, the file says otherwise", want.Architecture, map[bool]string{true: "", false: "not "}[want.Detection != nil])
	}
	if dd := doc.Detection; dd != nil && (dd.BackgroundClass != want.Detection.BackgroundClass || dd.Threshold < 0 || dd.Threshold >= 1 || math.IsNaN(dd.Threshold)) {
		return fail("detection: background class %d (want %d), threshold %g (want 0 to 1)", dd.BackgroundClass, want.Detection.BackgroundClass, dd.Threshold)
	}
	if err := doc.Source.check(); err != nil {
		return fail("source: %v", err)
	}
	if doc.Weights.File == "" {
		doc.Weights.File = ModelWeights
	}
	if filepath.Base(doc.Weights.File) != doc.Weights.File {
		return fail("weights file %q must be a file name in the model directory", doc.Weights.File)
	}
	return &doc, nil
}

// firstDiff names the first yaml field in which two layers differ.
func firstDiff(a, b LayerDoc) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			return fmt.Sprintf("%s (%v, want %v)", name, x, y)
		}
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// LoadModel rebuilds a model from dir/model.yaml and its weights file,
// validating both: every tensor present, F32, with the architecture's shape,
// and no other. The returned doc's Source takes the run, kind, epoch, test
// figures and seed from the weights' metadata when it has one (model.yaml
// and the weights are written one after the other; the weights file is the
// authority on which epoch it holds); the recipe and validation size come
// from model.yaml when it names the same run, and the validation accuracy
// and extras only when it also names the same epoch and kind.
func LoadModel(dir string) (*archs.Model, *ModelDoc, error) {
	doc, err := ReadModelDoc(dir)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, doc.Weights.File)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model weights %v", err)
	}
	fail := func(format string, args ...any) (*archs.Model, *ModelDoc, error) {
		return nil, nil, fmt.Errorf("model weights %s: %s", path, fmt.Sprintf(format, args...))
	}
	if a, ok := f.Metadata["fmnist.architecture"]; ok && a != doc.Architecture {
		return fail("weights of architecture %q, model.yaml says %q", a, doc.Architecture)
	}
	m, err := archs.New(doc.Architecture, 0)
	if err != nil {
		return fail("%v", err)
	}
	infos, err := m.TensorInfos()
	if err != nil {
		return fail("%v", err)
	}
	var ts []archs.Tensor
	for _, want := range infos {
		t, ok := f.Tensor(want.Name)
		if !ok {
			return fail("tensor %s is missing (architecture %s has %d tensors)", want.Name, doc.Architecture, len(infos))
		}
		if t.DType != "F32" {
			return fail("tensor %s has dtype %s, want F32", t.Name, t.DType)
		}
		if !slices.Equal(t.Shape, want.Shape) {
			return fail("tensor %s has shape %v, architecture %s wants %v", t.Name, t.Shape, doc.Architecture, want.Shape)
		}
		v, err := t.Float32s()
		if err != nil {
			return fail("%v", err)
		}
		ts = append(ts, archs.Tensor{Name: want.Name, Shape: t.Shape, Data: v})
	}
	if len(f.Tensors) != len(infos) {
		for _, t := range f.Tensors {
			if !slices.ContainsFunc(infos, func(i archs.TensorInfo) bool { return i.Name == t.Name }) {
				return fail("unexpected tensor %s (not in architecture %s)", t.Name, doc.Architecture)
			}
		}
	}
	if err := m.SetTensors(ts); err != nil {
		return fail("%v", err)
	}
	if md := f.Metadata; md["fmnist.epoch"] != "" {
		src := SourceDoc{Run: md["fmnist.run"], Kind: md["fmnist.kind"]}
		var errs []error
		atoi := func(s string) int {
			n, err := strconv.Atoi(s)
			errs = append(errs, err)
			return n
		}
		atof := func(s string) float64 {
			x, err := strconv.ParseFloat(s, 64)
			errs = append(errs, err)
			return x
		}
		src.Epoch = atoi(md["fmnist.epoch"])
		src.TestAcc = atof(md["fmnist.test_acc"])
		src.TestLoss = atof(md["fmnist.test_loss"])
		src.TestSize = atoi(md["fmnist.test_size"])
		src.TrainSize = atoi(md["fmnist.train_size"])
		seed, err := strconv.ParseInt(md["fmnist.seed"], 10, 64)
		errs = append(errs, err)
		src.Seed = seed
		errs = append(errs, src.check())
		if err := errors.Join(errs...); err != nil {
			return fail("invalid fmnist metadata: %s", oneLine(err.Error()))
		}
		// What the metadata does not carry comes from model.yaml when it
		// speaks of the same run (the recipe, the validation set) and epoch
		// (that epoch's validation accuracy and own figures).
		if old := doc.Source; old.Run == src.Run {
			src.Recipe, src.ValSize = old.Recipe, old.ValSize
			if old.Epoch == src.Epoch && old.Kind == src.Kind {
				src.ValAcc, src.Extra = old.ValAcc, old.Extra
			}
		}
		doc.Source = src
	}
	return m, doc, nil
}

// ModelDir finds the model directory arg means: a model directory (with
// model.yaml), a run directory (its best model, or final with final set), or
// a run ID under runsDir.
func ModelDir(arg, runsDir string, final bool) (modelDir, runDir string, err error) {
	sub := BestDir
	if final {
		sub = FinalDir
	}
	isFile := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && !fi.IsDir()
	}
	if isFile(filepath.Join(arg, ModelYAML)) {
		parent := filepath.Dir(filepath.Clean(arg))
		if isFile(filepath.Join(parent, RunFile)) {
			return arg, parent, nil
		}
		return arg, "", nil
	}
	for _, dir := range []string{arg, filepath.Join(runsDir, arg)} {
		if isFile(filepath.Join(dir, RunFile)) {
			md := filepath.Join(dir, sub)
			if !isFile(filepath.Join(md, ModelYAML)) {
				return "", "", fmt.Errorf("run %s has no saved %s model (%s): it finished no epoch, or predates model saving", dir, sub, filepath.Join(md, ModelYAML))
			}
			return md, dir, nil
		}
		if filepath.IsAbs(arg) || arg != filepath.Base(arg) {
			break // a path, not a run ID
		}
	}
	if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("no run or model %q (not a directory, nor a run in %s)", arg, runsDir)
	}
	return "", "", fmt.Errorf("%s is neither a run directory (with %s) nor a model directory (with %s)", arg, RunFile, ModelYAML)
}

// BestRun is the run in runsDir with the highest best test accuracy among
// those with a saved best model (the earliest on a tie).
func BestRun(runsDir string) (*Run, string, error) {
	runs, _, err := LoadRuns(runsDir)
	if err != nil {
		return nil, "", err
	}
	return bestRun(runs, runsDir, false)
}

// BestDetRun is the detection model's run (ten classes and background) whose
// best/ model found items best on its validation scenes (F1), if there is
// one, else BestRun.
func BestDetRun(runsDir string) (*Run, string, error) {
	runs, _, err := LoadRuns(runsDir)
	if err != nil {
		return nil, "", err
	}
	if r, dir, err := bestRun(runs, runsDir, true); err == nil {
		return r, dir, nil
	}
	return bestRun(runs, runsDir, false)
}

// bestRun picks among the runs with a saved best model those of detection
// models (det) or of the others: a detection model's accuracy is on scene
// crops, not comparable. Detection runs are ranked by the validation F1 of
// their best epoch, the others by best test accuracy.
func bestRun(runs []*Run, runsDir string, det bool) (*Run, string, error) {
	var best *Run
	score := func(r *Run) float64 {
		if det {
			for _, e := range r.Epochs {
				if e.Epoch == r.BestEpoch {
					return e.Extra[detF1]
				}
			}
			return 0
		}
		return r.BestTestAcc
	}
	for _, r := range runs {
		if len(r.Epochs) == 0 {
			continue
		}
		if s, err := archs.Lookup(r.Model); err != nil || s.Detection != det {
			continue
		}
		if _, err := os.Stat(filepath.Join(runsDir, r.ID, BestDir, ModelYAML)); err != nil {
			continue
		}
		if best == nil || score(r) > score(best) {
			best = r
		}
	}
	if best == nil {
		what := "run"
		if det {
			what = "detection model's run"
		}
		return nil, "", fmt.Errorf("no %s in %s has a saved model", what, runsDir)
	}
	return best, filepath.Join(runsDir, best.ID), nil
}
