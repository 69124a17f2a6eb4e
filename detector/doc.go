// Package detector owns video input/output, region proposals, crop
// classification, annotation and frame events.
package detector
