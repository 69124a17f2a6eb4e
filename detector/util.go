package detector

import "strings"

// oneLine joins the lines of s into one.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
