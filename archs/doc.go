// Package archs owns the six seed architectures: their layers and our own
// gorgonia ops, Keras-style parameter counting, weight initialisation and the
// training recipes (batch sizes, optimizers, schedules).
package archs
