package archs

import G "gorgonia.org/gorgonia"

var adam = func(epochs, batch int, lr float64) Phase {
	return Phase{Epochs: epochs, Batch: batch, Optimizer: "adam", LR: lr}
}

var allCNNSGD = Phase{Epochs: 40, Batch: 64, Optimizer: "sgd", LR: 0.01, Momentum: 0.9, Nesterov: true, Decay: 1e-6}

var specs = []Spec{
	{Name: "CNN2", Title: "CNN2 + BatchNorm + Skip", Seed: true,
		Recipe: Recipe{Phases: []Phase{adam(35, 256, 1e-3)}}, PeakScale: 8,
		build: func(b *Builder, x *G.Node) *G.Node { return skipCNN(b, x, 32, 2, 0, 0.5, 10) }},
	{Name: "CNN2_dropout", Title: "CNN2 + BatchNorm + Skip + Dropout", Seed: true,
		Recipe: Recipe{Phases: []Phase{adam(50, 256, 1e-3)}},
		build:  func(b *Builder, x *G.Node) *G.Node { return skipCNN(b, x, 64, 2, 0.3, 0.7, 10) }},
	{Name: "CNN3_dropout", Title: "CNN3 + BatchNorm + Skip + Dropout", Seed: true,
		Recipe: Recipe{Phases: []Phase{adam(50, 64, 1e-3)}},
		build:  func(b *Builder, x *G.Node) *G.Node { return skipCNN(b, x, 64, 3, 0.3, 0.7, 10) }},
	{Name: "reduced_all_cnn", Title: "reduced All-CNN", Seed: true,
		Recipe: Recipe{Phases: []Phase{allCNNSGD}}, Improve: reducedAllCNNImproved,
		build: func(b *Builder, x *G.Node) *G.Node { return allCNN(b, x, 32, 64, true) }},
	{Name: "all_cnn", Title: "All-CNN", Seed: false,
		Recipe: Recipe{Phases: []Phase{allCNNSGD}},
		build:  func(b *Builder, x *G.Node) *G.Node { return allCNN(b, x, 96, 192, false) }},
	{Name: "model5", Title: "3 layer CNN", Seed: true,
		Recipe:  Recipe{Phases: []Phase{adam(10, 256, 0.01), adam(30, 1024, 1e-3)}},
		Improve: model5Improved, build: model5},
}

// model5Improved makes model5's improved recipe one phase: all its epochs at
// the first phase's batch of 256 and rate of 0.01, which the cosine
// schedule brings down (the seed's recipe dropped to 0.001 at batches of
// 1,024 after 10 epochs), and no label smoothing. model5 is limited by its
// per-position softmax more than by overfitting: with both phases and
// smoothing the improved recipe gave 92.41 ± 0.05% over seeds 1-3, below
// the seed recipe's 92.50 ± 0.21%; as one phase without smoothing, 93.29 ±
// 0.14% (55,000 images, validation-chosen epochs).
func model5Improved(r *Recipe) {
	one := r.Phases[0]
	one.Epochs = r.Epochs()
	r.Phases = []Phase{one}
	r.LabelSmoothing = 0
}

// reducedAllCNNImproved lets reduced_all_cnn fit more: three times the
// seed's SGD rate at the cosine schedule's peak (0.03), and neither label
// smoothing nor weight decay; flips stay. Its two dropout layers at 0.5 and
// no BatchNorm before the last layer leave it short of fit, not of
// regularisation: with the others' improved recipe (0.01, smoothing 0.1,
// decay 0.005) seed 1 reached 91.89%, below the seed recipe's 92.44 ±
// 0.07% (seeds 1-3), and trailed it at most epochs; this one reaches
// 92.80 ± 0.16% (seeds 1-3; +0.36 points, Welch's p = 0.045; 55,000
// images, validation-chosen epochs). all_cnn keeps the others' recipe,
// unmeasured (five hours a run here).
func reducedAllCNNImproved(r *Recipe) {
	r.Phases[0].LR *= 3
	r.LabelSmoothing, r.WeightDecay = 0, 0
}

// detSpecs are the detection variants: a seed architecture with an eleventh
// output, background, trained on crops of synthetic scenes (detector.DetData).
// Two phases: the crops the proposals give, then, after hard-negative mining
// with the phase-1 model, the same crops plus the false detections it made, as
// background; a new phase starts a fresh optimizer.
var detSpecs = []Spec{
	{Name: "CNN2_det", Title: "CNN2 detector (10 classes + background)", Classes: 11, Detection: true,
		Recipe: Recipe{Phases: []Phase{adam(16, 256, 1e-3), adam(8, 256, 3e-4)}},
		build:  func(b *Builder, x *G.Node) *G.Node { return skipCNN(b, x, 32, 2, 0, 0.5, 11) }},
}

// skipCNN is the CNN2 family: `blocks` times BatchNorm -> Conv(relu) -> add the
// BatchNorm output -> MaxPool('same'), where blocks after the first may drop out
// the conv output before the add; then BatchNorm, Flatten, Dense(128, relu),
// Dropout and Dense(k): 10 classes, or 11 for a detection model.
// Kernels are Keras random_uniform, biases RandomNormal.
func skipCNN(b *Builder, x *G.Node, filters, blocks int, convDrop, finalDrop float64, k int) *G.Node {
	for i := 0; i < blocks; i++ {
		drop := convDrop
		if i == 0 {
			drop = 0
		}
		x = b.ResidualBlock(b.BN(x, 1), filters, drop, kerasRandomUniform, kerasRandomNormal)
	}
	x = b.Flatten(b.BN(x, 1))
	x = b.Dropout(b.Dense(x, 128, true), finalDrop)
	return b.Dense(x, k, false)
}

// allCNN is (reduced) All-CNN: three groups of convolutions, the third of each
// of the first two groups a strided one with no activation followed by
// Dropout(0.5); then 1x1 convolutions down to 10 maps, an optional BatchNorm
// and global average pooling.
func allCNN(b *Builder, x *G.Node, f1, f2 int, bn bool) *G.Node {
	x = b.Conv(x, f1, 3, 1, true, true, nil, nil)
	x = b.Conv(x, f1, 2, 1, true, true, nil, nil)
	x = b.Conv(x, f1, 1, 2, true, false, nil, nil)
	x = b.Dropout(x, 0.5)
	x = b.Conv(x, f2, 3, 1, true, true, nil, nil)
	x = b.Conv(x, f2, 3, 1, true, true, nil, nil)
	x = b.Conv(x, f2, 3, 2, true, false, nil, nil)
	x = b.Dropout(x, 0.5)
	x = b.Conv(x, f2, 3, 1, true, true, nil, nil)
	x = b.Conv(x, f2, 1, 1, false, true, nil, nil)
	x = b.Conv(x, 10, 1, 1, false, false, nil, nil)
	if bn {
		x = b.BN(x, 1)
	}
	return b.GlobalAvgPool(x)
}

// model5 keeps the seed's two quirks: BatchNormalization(axis=1) on
// channels-last data normalises the height axis (NCHW axis 2), and
// Dense(128, softmax) acts per position on the channel axis before Flatten.
func model5(b *Builder, x *G.Node) *G.Node {
	x = b.Conv(x, 32, 3, 1, false, true, nil, nil)
	x = b.BN(x, 2)
	x = b.Conv(x, 64, 3, 1, false, true, nil, nil)
	x = b.MaxPool(x, false)
	x = b.Dropout(x, 0.2)
	x = b.Conv(x, 64, 3, 1, false, true, nil, nil)
	x = b.BN(x, 2)
	x = b.ChannelDenseSoftmax(x, 128)
	x = b.Dropout(x, 0.7)
	x = b.Flatten(x)
	return b.Dense(x, 10, false)
}
