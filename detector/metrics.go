package detector

import "sort"

// Detection is one labelled box.
type Detection struct {
	Box   XYWH    `json:"box"` // x, y, w, h in frame pixels
	Class int     `json:"class"`
	Label string  `json:"label"`
	Score float64 `json:"score"` // top softmax probability; a detection model: P(item) = 1 - P(background), with Relabel the geometric mean of the proposal's and the refined box's

	probs [10]float64 // the classes' votes (Config.Vote)
	item  float64     // P(item) of the refined box's crop (Config.Relabel), or -1
}

// setClass makes the class the one with the most votes.
func (d *Detection) setClass(names []string) {
	if best := argmax(d.probs[:]); d.probs[best] > 0 {
		d.Class, d.Label = best, names[best]
	}
}

// Counts are the matching counts of a set of frames.
type Counts struct {
	TP, FP, FN int
	IoUSum     float64 // over true positives
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.TP += o.TP
	c.FP += o.FP
	c.FN += o.FN
	c.IoUSum += o.IoUSum
}

// MatchFrame matches a frame's detections to its truth: detections in order
// of decreasing score, each taking the unmatched truth item of the same
// class with the highest IoU, if that IoU >= 0.5 (a true positive);
// otherwise it is a false positive. Unmatched truth items are false
// negatives. The counts are per class (index = class) and overall.
func MatchFrame(dets []Detection, truth []TruthItem, nClasses int) (overall Counts, perClass []Counts) {
	perClass = make([]Counts, nClasses)
	order := make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return dets[order[a]].Score > dets[order[b]].Score })
	used := make([]bool, len(truth))
	for _, i := range order {
		d := dets[i]
		best, bestIoU := -1, 0.5
		for j, t := range truth {
			if used[j] || t.Class != d.Class {
				continue
			}
			if iou := IoU(d.Box.Rect(), t.Box.Rect()); iou >= bestIoU {
				best, bestIoU = j, iou
			}
		}
		c := &perClass[clampClass(d.Class, nClasses)]
		if best >= 0 {
			used[best] = true
			c.TP++
			c.IoUSum += bestIoU
		} else {
			c.FP++
		}
	}
	for j, t := range truth {
		if !used[j] {
			perClass[clampClass(t.Class, nClasses)].FN++
		}
	}
	for _, c := range perClass {
		overall.Add(c)
	}
	return overall, perClass
}

func clampClass(c, n int) int { return max(0, min(n-1, c)) }

// Scores are precision, recall and mean IoU of a set of counts.
type Scores struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"` // TP / (TP + FP); 0 when there is no detection
	Recall    float64 `json:"recall"`    // TP / (TP + FN); 0 when there is no truth item
	MeanIoU   float64 `json:"mean_iou"`  // mean IoU of the true positives
}

// Scores computes precision, recall and mean IoU.
func (c Counts) Scores() Scores {
	s := Scores{TP: c.TP, FP: c.FP, FN: c.FN}
	if c.TP+c.FP > 0 {
		s.Precision = float64(c.TP) / float64(c.TP+c.FP)
	}
	if c.TP+c.FN > 0 {
		s.Recall = float64(c.TP) / float64(c.TP+c.FN)
	}
	if c.TP > 0 {
		s.MeanIoU = c.IoUSum / float64(c.TP)
	}
	return s
}

// Metrics is the evaluation against a truth file.
type Metrics struct {
	FramesEvaluated int               `json:"frames_evaluated"`
	TruthItems      int               `json:"truth_items"`
	Overall         Scores            `json:"overall"`
	PerClass        map[string]Scores `json:"per_class"`
}
