// Package tui renders training and detection events: the Bubble Tea dashboard
// and, for headless use, plain line output. It only consumes events and run
// records; it imports no training internals.
package tui
