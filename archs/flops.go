package archs

// FLOPs counts the arithmetic of one image through architecture name's
// matrix products (convolutions and dense layers; a multiply-add is two
// FLOPs). Training is the forward pass, the weight gradient (as many FLOPs
// again) and the input gradient (again, except for layers that read the
// image itself, whose input needs none). BatchNorm, pooling, activations and
// the optimiser are left out: they are a few percent of the total and are
// not SGEMM work, which is what the count is compared with.
func FLOPs(name string) (forward, train float64, err error) {
	layers, err := Describe(name)
	if err != nil {
		return 0, 0, err
	}
	for _, l := range layers {
		var macs float64
		switch {
		case l.Type == "conv2d":
			// Output [C, H, W]; weights (Params - biases) per output position.
			macs = float64(l.Params-l.Filters) * float64(l.Output[1]*l.Output[2])
		case l.Type == "dense" && l.PerPosition:
			macs = float64(l.Params-l.Units) * float64(l.Output[1]*l.Output[2])
		case l.Type == "dense":
			macs = float64(l.Params - l.Units)
		default:
			continue
		}
		f := 2 * macs
		forward += f
		train += 2 * f // forward and weight gradient
		if len(l.Inputs) != 1 || l.Inputs[0] != "input" {
			train += f // input gradient
		}
	}
	return forward, train, nil
}
