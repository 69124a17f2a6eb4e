package results

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// writeText writes the Markdown table md writes as plain aligned text
// (WriteText, no width limit).
func writeText(w io.Writer, md func(io.Writer) error) error {
	var b bytes.Buffer
	if err := md(&b); err != nil {
		return err
	}
	_, err := WriteText(w, b.String(), 0)
	return err
}

// textDropOrder is the columns a text table gives up, first to last, to fit
// a width: the study's reference figures, the sizes, the status, what
// chose the best epoch.
var textDropOrder = []string{"Study s/epoch", "Study acc", "Params", "Total (min)", "Epochs", "Status", "Best chosen on"}

// WriteText writes a Markdown table as plain aligned text, for a terminal:
// the header, a rule, then the rows, columns two spaces apart and aligned as
// the Markdown's separator row says (":" on the right: right-aligned). With
// width > 0, columns of textDropOrder are left out while the table is wider;
// it returns their headers.
func WriteText(w io.Writer, md string, width int) (dropped []string, err error) {
	var rows [][]string
	var right []bool
	for i, line := range strings.Split(strings.TrimRight(md, "\n"), "\n") {
		cells := mdCells(line)
		if i == 1 { // the separator row
			for _, c := range cells {
				right = append(right, strings.HasSuffix(c, ":"))
			}
			continue
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	keep := make([]bool, len(right))
	for j := range keep {
		keep[j] = j < len(rows[0])
	}
	widths := make([]int, len(right))
	for _, r := range rows {
		for j, c := range r {
			if j < len(widths) {
				widths[j] = max(widths[j], utf8.RuneCountInString(c))
			}
		}
	}
	total := func() int {
		t, n := 0, 0
		for j, k := range keep {
			if k {
				t += widths[j]
				n++
			}
		}
		return t + 2*max(0, n-1)
	}
	order := textDropOrder
	if slices.Contains(rows[0], "Run") {
		order = append(order[:len(order):len(order)], "Model") // the run ID starts with it
	}
	for _, name := range order {
		if width <= 0 || total() <= width {
			break
		}
		if j := slices.Index(rows[0], name); j >= 0 && keep[j] {
			keep[j] = false
			dropped = append(dropped, name)
		}
	}
	var out strings.Builder
	for i, r := range rows {
		var line strings.Builder
		first := true
		for j, c := range r {
			if j >= len(widths) || !keep[j] {
				continue
			}
			if !first {
				line.WriteString("  ")
			}
			first = false
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
			if right[j] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		out.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		if i == 0 {
			out.WriteString(strings.Repeat("─", total()) + "\n")
		}
	}
	_, err = io.WriteString(w, out.String())
	return dropped, err
}

// mdCells splits a Markdown table line into its cells, unescaping "\|".
func mdCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}
