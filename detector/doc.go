// Package detector owns video input/output, synthetic scenes with ground
// truth, region proposals, crop preparation and classification, box
// refinement, frame-to-frame confirmation, annotation, frame events and
// metrics, and the training data of detection models (DetData: scene crops
// labelled by overlap, hard negatives, validation scenes).
package detector
