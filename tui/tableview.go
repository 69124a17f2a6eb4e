package tui

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"fmnist/results"
	"fmnist/trainer"
)

// tableRow is one run in the Table view: its state and its summary; in
// the grouped table, one group of runs (run is its first, row holds the
// means).
type tableRow struct {
	run   *runState
	row   results.Row
	group *results.Group
}

// column is one column of the Table view.
type column struct {
	id       string // stable name
	title    string // header in the wide layout
	short    string // header in the compact layout
	group    string // compact layout: a header above short, shared by neighbours
	right    bool   // right-aligned
	onlyWide bool
	// roomy: shown only in the roomiest layout, after the columns the
	// number keys sort by (so that their numbers stay the same)
	roomy bool
	mark  bool // has a highlight mark cell ("*" for the best value)
	desc  bool // sorts best-first descending by default
	cell  func(t tableRow, compact bool) string
	// key is the sort value: a number, or a string when isNum is false;
	// ok false for a missing value, which sorts last either way.
	key func(t tableRow) (num float64, str string, ok bool)
}

var shortStatus = map[string]string{
	trainer.StatusQueued: "wait", trainer.StatusRunning: "run", trainer.StatusDone: "done",
	trainer.StatusFailed: "fail", trainer.StatusCancelled: "canc",
}

func hasEpochs(t tableRow) bool { return t.row.Epochs > 0 }

func numKey(f func(t tableRow) float64, ok func(t tableRow) bool) func(t tableRow) (float64, string, bool) {
	return func(t tableRow) (float64, string, bool) {
		if ok != nil && !ok(t) {
			return 0, "", false
		}
		return f(t), "", true
	}
}

func strKey(f func(t tableRow) string) func(t tableRow) (float64, string, bool) {
	return func(t tableRow) (float64, string, bool) { return 0, strings.ToLower(f(t)), true }
}

// accCell formats a test accuracy, with a % sign in the wide layout.
func accCell(f float64, ok, compact bool) string {
	if !ok {
		return "—"
	}
	if compact {
		return pct(f)
	}
	return pct(f) + "%"
}

var columns = []column{
	{id: "model", title: "Model", short: "Model",
		cell: func(t tableRow, _ bool) string { return t.row.Model },
		key:  strKey(func(t tableRow) string { return t.row.Model })},
	{id: "run", title: "Run", short: "Run", onlyWide: true,
		cell: func(t tableRow, _ bool) string { return t.row.ID },
		key:  strKey(func(t tableRow) string { return t.row.ID })},
	{id: "status", title: "Status", short: "Status",
		cell: func(t tableRow, compact bool) string {
			if compact {
				if s, ok := shortStatus[t.row.Status]; ok {
					return s
				}
			}
			return t.row.Status
		},
		key: strKey(func(t tableRow) string { return t.row.Status })},
	{id: "params", title: "Params", short: "Params", right: true,
		cell: func(t tableRow, _ bool) string {
			if t.row.Params == 0 {
				return "—"
			}
			return results.Thousands(t.row.Params)
		},
		key: numKey(func(t tableRow) float64 { return float64(t.row.Params) }, func(t tableRow) bool { return t.row.Params > 0 })},
	{id: "epochs", title: "Epochs", short: "Ep", right: true,
		cell: func(t tableRow, _ bool) string {
			if p := t.run.planned(); p > 0 {
				return fmt.Sprintf("%d/%d", t.row.Epochs, p)
			}
			if t.row.Epochs == 0 {
				return "—"
			}
			return fmt.Sprint(t.row.Epochs)
		},
		key: numKey(func(t tableRow) float64 { return float64(t.row.Epochs) }, nil)},
	{id: "sec", title: "s/epoch", short: "s/ep", right: true, mark: true,
		cell: func(t tableRow, compact bool) string {
			if !hasEpochs(t) {
				return "—"
			}
			if compact {
				return fmt.Sprintf("%.1f", t.row.SecPerEpoch)
			}
			return fmt.Sprintf("%.2f", t.row.SecPerEpoch)
		},
		key: numKey(func(t tableRow) float64 { return t.row.SecPerEpoch }, hasEpochs)},
	{id: "total", title: "Total", short: "Total", right: true,
		cell: func(t tableRow, _ bool) string {
			if !hasEpochs(t) {
				return "—"
			}
			return duration(t.row.TotalMinutes * 60)
		},
		key: numKey(func(t tableRow) float64 { return t.row.TotalMinutes }, hasEpochs)},
	{id: "best", title: "Best acc", short: "Best", group: "test acc %", right: true, mark: true, desc: true,
		cell: func(t tableRow, compact bool) string { return accCell(t.row.BestAcc, hasEpochs(t), compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.BestAcc }, hasEpochs)},
	{id: "final", title: "Final acc", short: "Final", group: "test acc %", right: true, desc: true,
		cell: func(t tableRow, compact bool) string { return accCell(t.row.FinalAcc, hasEpochs(t), compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.FinalAcc }, hasEpochs)},
	{id: "seedsec", title: "Study s/epoch", short: "s/ep", group: "seed study", right: true,
		cell: func(t tableRow, compact bool) string {
			if !t.row.HasSeed {
				return "—"
			}
			if compact {
				return fmt.Sprintf("%.1f", t.row.SeedSecPerEpoch)
			}
			return fmt.Sprintf("%.2f", t.row.SeedSecPerEpoch)
		},
		key: numKey(func(t tableRow) float64 { return t.row.SeedSecPerEpoch }, func(t tableRow) bool { return t.row.HasSeed })},
	{id: "seedacc", title: "Study acc", short: "acc", group: "seed study", right: true, desc: true,
		cell: func(t tableRow, compact bool) string { return accCell(t.row.SeedAcc, t.row.HasSeed, compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.SeedAcc }, func(t tableRow) bool { return t.row.HasSeed })},
	{id: "chosen", title: "Best on", short: "on", onlyWide: true,
		cell: func(t tableRow, _ bool) string { return t.row.ChosenOn },
		key:  strKey(func(t tableRow) string { return t.row.ChosenOn })},
	{id: "recipe", title: "Recipe", short: "Recipe", onlyWide: true, roomy: true,
		cell: func(t tableRow, _ bool) string { return recipeCell(t.row.Recipe) },
		key:  strKey(func(t tableRow) string { return t.row.Recipe })},
	{id: "seed", title: "Seed", short: "Seed", right: true, onlyWide: true, roomy: true,
		cell: func(t tableRow, _ bool) string { return fmt.Sprint(t.row.Seed) },
		key:  numKey(func(t tableRow) float64 { return float64(t.row.Seed) }, nil)},
}

// recipeCell is a recipe label, "own" for a detection model's.
func recipeCell(label string) string {
	if label == "" {
		return "own"
	}
	return label
}

// statCell is a group's mean ± sd (the sd left out for one run).
func statCell(s results.Stat, scale float64, compact bool) string {
	if s.N == 0 {
		return "—"
	}
	if compact || s.N == 1 {
		return fmt.Sprintf("%.2f", s.Mean*scale)
	}
	return results.PlusMinus(s, scale)
}

// groupColumns are the grouped table's: one row per model and recipe,
// means and spreads over its seeds.
var groupColumns = []column{
	columns[0],
	{id: "recipe", title: "Recipe", short: "Recipe",
		cell: func(t tableRow, _ bool) string { return recipeCell(t.group.Recipe) },
		key:  strKey(func(t tableRow) string { return t.group.Recipe })},
	{id: "n", title: "n", short: "n", right: true,
		cell: func(t tableRow, _ bool) string { return fmt.Sprint(t.group.N()) },
		key:  numKey(func(t tableRow) float64 { return float64(t.group.N()) }, nil)},
	columnByIDIn(columns, "params"),
	{id: "sec", title: "s/epoch", short: "s/ep", right: true, mark: true,
		cell: func(t tableRow, compact bool) string { return statCell(t.group.SecPerEpoch, 1, compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.SecPerEpoch }, hasEpochs)},
	{id: "best", title: "Best acc", short: "Best", group: "test acc %", right: true, mark: true, desc: true,
		cell: func(t tableRow, compact bool) string { return statCell(t.group.Best, 100, compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.BestAcc }, hasEpochs)},
	{id: "final", title: "Final acc", short: "Final", group: "test acc %", right: true, desc: true,
		cell: func(t tableRow, compact bool) string { return statCell(t.group.Final, 100, compact) },
		key:  numKey(func(t tableRow) float64 { return t.row.FinalAcc }, hasEpochs)},
	{id: "chosen", title: "Best on", short: "on", onlyWide: true,
		cell: func(t tableRow, _ bool) string { return t.group.ChosenOn },
		key:  strKey(func(t tableRow) string { return t.group.ChosenOn })},
	columnByIDIn(columns, "seedsec"),
	columnByIDIn(columns, "seedacc"),
}

func columnByIDIn(cols []column, id string) column {
	for _, c := range cols {
		if c.id == id {
			return c
		}
	}
	panic("no column " + id)
}

// tableView lists every run with its figures next to the seed study's, and
// sorts by any column; grouped, it lists each model and recipe once with
// the mean ± sd over its seeds.
type tableView struct {
	c       *common
	cursor  string // id of the column chosen with left/right
	sortCol string // id of the sort column; "" keeps display order
	desc    bool
	offset  int  // first visible row
	grouped bool // one row per group of runs
}

// cols are the columns of the current mode.
func (v *tableView) cols() []column {
	if v.grouped {
		return groupColumns
	}
	return columns
}

// toggleGroups switches between one row per run and one per group.
func (v *tableView) toggleGroups() {
	v.grouped = !v.grouped
	if v.columnByID(v.sortCol) == nil {
		v.sortCol = ""
	}
	if v.columnByID(v.cursor) == nil {
		v.cursor = "model"
	}
	v.offset = 0
}

func newTableView(c *common) *tableView { return &tableView{c: c, cursor: "model"} }

// rows are the runs in the current sort order.
func (v *tableView) rows() []tableRow {
	list := v.c.store.list()
	recs := records(list)
	var out []tableRow
	if v.grouped {
		byID := map[string]*runState{}
		for _, r := range list {
			byID[r.ID] = r
		}
		for _, g := range results.Groups(recs) {
			row := results.Row{Model: g.Model, Params: g.Params, HasSeed: g.HasSeed, SeedAcc: g.SeedAcc, SeedSecPerEpoch: g.SeedSecPerEpoch, Shared: g.Shared}
			if g.N() > 0 {
				row.Epochs, row.BestAcc, row.FinalAcc, row.SecPerEpoch = g.Epochs, g.Best.Mean, g.Final.Mean, g.SecPerEpoch.Mean
			}
			out = append(out, tableRow{run: byID[g.IDs[0]], row: row, group: &g})
		}
	} else {
		rs := results.Rows(recs)
		out = make([]tableRow, len(rs))
		for i := range rs {
			out[i] = tableRow{run: list[i], row: rs[i]}
		}
	}
	col := v.columnByID(v.sortCol)
	if col == nil {
		return out
	}
	sort.SliceStable(out, func(i, j int) bool {
		an, as, aok := col.key(out[i])
		bn, bs, bok := col.key(out[j])
		if aok != bok {
			return aok // missing values last
		}
		if !aok {
			return false
		}
		if as != bs {
			if v.desc {
				return as > bs
			}
			return as < bs
		}
		if v.desc {
			return an > bn
		}
		return an < bn
	})
	return out
}

// write writes the table as shown (per run, or grouped) in format, for export.
func (v *tableView) write(w io.Writer, format string) error {
	if v.grouped {
		var gs []results.Group
		for _, r := range v.rows() {
			gs = append(gs, *r.group)
		}
		return results.WriteGroups(w, gs, format)
	}
	return results.WriteTable(w, v.resultRows(), format)
}

// Rows are the table's rows as results rows, in the shown order (for export).
func (v *tableView) resultRows() []results.Row {
	rs := v.rows()
	out := make([]results.Row, len(rs))
	for i, r := range rs {
		out[i] = r.row
	}
	return out
}

func (v *tableView) columnByID(id string) *column {
	cols := v.cols()
	for i := range cols {
		if cols[i].id == id {
			return &cols[i]
		}
	}
	return nil
}

// sortBy sorts by column id; choosing the sort column again reverses it.
func (v *tableView) sortBy(id string) {
	col := v.columnByID(id)
	if col == nil {
		return
	}
	v.cursor = id
	if v.sortCol == id {
		v.desc = !v.desc
		return
	}
	v.sortCol, v.desc = id, col.desc
}

// layout is how the table is drawn at the current width.
type layout struct {
	compact, short bool
	gap            int
	cols           []*column
	widths         []int
}

func (l layout) total() int {
	w := 2 + l.gap*(len(l.cols)-1)
	for _, x := range l.widths {
		w += x
	}
	return w
}

// minRecipeWidth is the narrowest the recipe column is cut to (its label
// then ends in "…") before a layout leaves it out.
const minRecipeWidth = 12

// layoutCand is one way to draw the table, from the roomiest down.
type layoutCand struct {
	compact, short, id, roomy, noStudy bool
	gap                                int
	lean                               bool // grouped: spreads before parameters and the study's figures
}

var layoutCands = []layoutCand{{false, false, true, true, false, 2, false}, {false, false, true, false, false, 2, false}, {false, false, false, false, false, 2, false}, {false, false, false, false, false, 1, false},
	{false, false, false, false, false, 1, true},
	{true, false, false, false, false, 1, false}, {true, true, false, false, true, 1, false}, {true, true, false, false, false, 1, false}}

// layout picks the roomiest layout that fits the width. Runs of more than
// one recipe keep their recipe column: a layout that fits only by leaving
// it out comes after every layout that fits with the labels cut (to
// minRecipeWidth at the least).
func (v *tableView) layout(rows []tableRow) layout {
	mixed, spread := false, false // spread: a grouped row of 2 or more runs has a ± sd to show
	for _, r := range rows {
		mixed = mixed || (r.row.Recipe != rows[0].row.Recipe)
		spread = spread || (r.group != nil && r.group.N() > 1)
	}
	var l layout
	for _, cut := range []bool{false, true} {
		for _, cand := range layoutCands {
			if cand.lean && !spread {
				continue
			}
			l = v.layoutFor(cand, rows, mixed, cut)
			if l.total() <= v.c.width && (!mixed || l.has("recipe") || cut) {
				return l
			}
		}
	}
	return l
}

// has reports whether the layout shows column id.
func (l layout) has(id string) bool {
	for _, c := range l.cols {
		if c.id == id {
			return true
		}
	}
	return false
}

// layoutFor is the layout of candidate cand; with cut, the recipe column
// gives up what the table lacks of the width, down to minRecipeWidth.
func (v *tableView) layoutFor(cand layoutCand, rows []tableRow, mixed, cut bool) layout {
	l := layout{compact: cand.compact, short: cand.short, gap: cand.gap}
	cols := v.cols()
	for i := range cols {
		col := &cols[i]
		// Runs of more than one recipe need it told apart. In the
		// narrow layouts the recipe takes the place of the seed
		// study's columns, which repeat one figure per model; in the
		// narrowest, `m` groups the runs by recipe instead.
		shown := mixed && col.id == "recipe" && (!cand.short || cand.noStudy)
		if mixed && cand.noStudy && (col.id == "seedsec" || col.id == "seedacc") {
			continue
		}
		if !shown && ((col.onlyWide && !cand.id) || (col.roomy && !cand.roomy)) {
			continue
		}
		// A narrow grouped table keeps each mean's ± sd, the point
		// of grouping, and leaves out what repeats per model.
		if cand.lean && (col.id == "params" || col.id == "seedsec" || col.id == "seedacc") {
			continue
		}
		w := cellWidth(v.header(col, l.compact))
		for _, r := range rows {
			w = max(w, cellWidth(v.cell(col, r, l))+b2i(col.mark))
		}
		l.cols = append(l.cols, col)
		l.widths = append(l.widths, w)
	}
	if l.compact {
		// A group title must fit over its columns.
		for i := 0; i < len(l.cols); {
			j := i
			for j+1 < len(l.cols) && l.cols[j+1].group == l.cols[i].group {
				j++
			}
			if g := l.cols[i].group; g != "" {
				span := l.gap * (j - i)
				for k := i; k <= j; k++ {
					span += l.widths[k]
				}
				if extra := cellWidth(g) - span; extra > 0 {
					l.widths[i] += extra
				}
			}
			i = j + 1
		}
	}
	if excess := l.total() - v.c.width; cut && excess > 0 {
		for i, c := range l.cols {
			if c.id == "recipe" && c.group == "" {
				l.widths[i] = max(min(minRecipeWidth, l.widths[i]), l.widths[i]-excess)
			}
		}
	}
	return l
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// header is a column's title, with the sort direction if it is sorted.
func (v *tableView) header(col *column, compact bool) string {
	t := col.title
	if compact {
		t = col.short
	}
	if col.id == v.sortCol {
		if v.desc {
			t += "▼"
		} else {
			t += "▲"
		}
	}
	return t
}

func (v *tableView) cell(col *column, r tableRow, l layout) string {
	if col.id == "status" && l.short {
		if s, ok := shortStatus[r.row.Status]; ok {
			return s
		}
	}
	return col.cell(r, l.compact && col.id != "status")
}

// extremes are the best test accuracy and the fastest s/epoch among runs
// with finished epochs (the fastest among those that had the cores to
// themselves: Row.Shared; 0 if none did).
func extremes(rows []tableRow) (best, fastest float64, ok bool) {
	for _, r := range rows {
		if !hasEpochs(r) {
			continue
		}
		if !ok || r.row.BestAcc > best {
			best = r.row.BestAcc
		}
		if !r.row.Shared && (fastest == 0 || r.row.SecPerEpoch < fastest) {
			fastest = r.row.SecPerEpoch
		}
		ok = true
	}
	return best, fastest, ok
}

// visibleRows is how many runs fit under the header.
func (v *tableView) visibleRows(l layout) int {
	head := 2
	if l.compact {
		head = 3
	}
	return max(1, v.c.bodyHeight()-head-2)
}

func (v *tableView) update(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys
	rows := v.rows()
	l := v.layout(rows)
	i := 0
	for j, r := range rows {
		if r.run.ID == v.c.selected {
			i = j
		}
	}
	page := v.visibleRows(l)
	ci := 0
	for j, col := range l.cols {
		if col.id == v.cursor {
			ci = j
		}
	}
	switch {
	case key.Matches(msg, k.Up):
		i--
	case key.Matches(msg, k.Down):
		i++
	case key.Matches(msg, k.PageUp):
		i -= page
	case key.Matches(msg, k.PageDown):
		i += page
	case key.Matches(msg, k.Top):
		i = 0
	case key.Matches(msg, k.Bottom):
		i = len(rows) - 1
	case key.Matches(msg, k.Left):
		v.cursor = l.cols[max(0, ci-1)].id
		return nil
	case key.Matches(msg, k.Right):
		v.cursor = l.cols[min(len(l.cols)-1, ci+1)].id
		return nil
	case key.Matches(msg, k.Sort):
		v.sortBy(v.cursor)
		return nil
	case key.Matches(msg, k.Group):
		v.toggleGroups()
		return nil
	case key.Matches(msg, k.SortColumn):
		n := keyIndex(msg, k.SortColumn) + 1 // the Nth key sorts by the Nth column
		if n <= len(l.cols) {
			v.sortBy(l.cols[n-1].id)
		}
		return nil
	default:
		return nil
	}
	if len(rows) > 0 {
		i = min(max(i, 0), len(rows)-1)
		v.c.selected = rows[i].run.ID
	}
	return nil
}

func (v *tableView) view() string {
	c, st := v.c, v.c.styles
	w, h := c.width, c.bodyHeight()
	rows := v.rows()
	if len(rows) == 0 {
		return center(st.Dim.Render("No runs yet. Press n to start one."), w, h)
	}
	l := v.layout(rows)
	best, fastest, haveExt := extremes(rows)
	gap := strings.Repeat(" ", l.gap)
	align := func(col *column, s string, w int) string {
		if col.right {
			return padLeft(s, w)
		}
		return padRight(s, w)
	}
	var out []string
	if l.compact {
		var b strings.Builder
		b.WriteString("  ")
		for i := 0; i < len(l.cols); {
			j := i
			for j+1 < len(l.cols) && l.cols[i].group != "" && l.cols[j+1].group == l.cols[i].group {
				j++
			}
			span := l.gap * (j - i)
			for k := i; k <= j; k++ {
				span += l.widths[k]
			}
			g := l.cols[i].group
			if g != "" {
				g = centerText(g, span)
			}
			b.WriteString(padRight(st.Dim.Render(g), span))
			if j < len(l.cols)-1 {
				b.WriteString(gap)
			}
			i = j + 1
		}
		out = append(out, b.String())
	}
	var head, rule []string
	for i, col := range l.cols {
		head = append(head, align(col, v.header(col, l.compact), l.widths[i]))
		ch := "─"
		style := st.Faint
		if col.id == v.cursor {
			ch, style = "━", st.Accent
		}
		rule = append(rule, style.Render(strings.Repeat(ch, l.widths[i])))
	}
	out = append(out, "  "+st.Header.Render(strings.Join(head, gap)), "  "+strings.Join(rule, gap))

	// Rows, scrolled to keep the selection in view.
	sel := -1
	for j, r := range rows {
		if r.run.ID == c.selected {
			sel = j
		}
	}
	page := v.visibleRows(l)
	if sel >= 0 {
		if sel < v.offset {
			v.offset = sel
		}
		if sel >= v.offset+page {
			v.offset = sel - page + 1
		}
	}
	v.offset = min(max(0, v.offset), max(0, len(rows)-page))
	for j := v.offset; j < min(len(rows), v.offset+page); j++ {
		r := rows[j]
		var cells []string
		for i, col := range l.cols {
			s := v.cell(col, r, l)
			hi := false
			if col.mark && haveExt && hasEpochs(r) {
				switch col.id {
				case "best":
					hi = r.row.BestAcc == best
				case "sec":
					hi = r.row.SecPerEpoch == fastest && !r.row.Shared
				}
				switch {
				case hi:
					s += "*"
				case col.id == "sec" && r.row.Shared:
					s += sharedGlyph
				default:
					s += " "
				}
			}
			s = align(col, s, l.widths[i])
			switch {
			case hi:
				s = st.Best.Render(s)
			case col.id == "status":
				s = st.StatusStyle(r.row.Status).Render(s)
			}
			cells = append(cells, s)
		}
		line := strings.Join(cells, gap)
		// The two cells before a row: ">" for the selection, then the mark.
		mark := " "
		if v.marked(r) {
			mark = markGlyph
		}
		if j == sel {
			line = st.Selected.Render(">" + mark + padRight(line, w-2))
		} else {
			line = " " + mark + line
		}
		out = append(out, line)
	}
	for len(out) < h-1 {
		out = append(out, "")
	}
	note := "* best test accuracy, fastest s/epoch"
	if v.grouped {
		note = "runs grouped by model and recipe: mean ± sd over seeds, n runs · * best mean"
	}
	if slices.ContainsFunc(rows, func(r tableRow) bool { return r.row.Shared }) {
		note += " · " + sharedGlyph + " trained beside other runs: its s/epoch does not compare"
	}
	// Without the column that says so, say what "Best" is when an epoch
	// was chosen on validation: a Best below Final is no mistake.
	if !slices.ContainsFunc(l.cols, func(c *column) bool { return c.id == "chosen" }) &&
		slices.ContainsFunc(rows, func(r tableRow) bool { return r.chosenOn() == "val" }) {
		note = "Best: test acc at the epoch best on validation · " + note
	}
	if n := len(c.marks); n > 0 {
		note += fmt.Sprintf(" · %s %d marked to compare", markGlyph, n)
	}
	if col := v.columnByID(v.sortCol); col != nil {
		dir := "ascending"
		if v.desc {
			dir = "descending"
		}
		note += fmt.Sprintf(" · sorted by %s, %s", strings.ToLower(col.title), dir)
	}
	if len(rows) > page {
		note += fmt.Sprintf(" · rows %d-%d of %d", v.offset+1, min(len(rows), v.offset+page), len(rows))
	}
	// The note takes as many lines as the rows leave empty (at most
	// three), and is cut short only past them.
	body := out[:h-1]
	empty := 0
	for empty < len(body) && body[len(body)-1-empty] == "" {
		empty++
	}
	lines := wrapLines(note, w, min(1+empty, 3))
	body = body[:len(body)-(len(lines)-1)]
	for _, l := range lines {
		body = append(body, st.Dim.Render(truncate(l, w)))
	}
	return fit(strings.Join(body, "\n"), w, h)
}

// sharedGlyph follows the s/epoch of a row whose runs trained beside
// others (results.Row.Shared).
const sharedGlyph = "‖"

// chosenOn is what row r's best epoch was chosen on (results.Run.ChosenOn).
func (r tableRow) chosenOn() string {
	if r.group != nil {
		return r.group.ChosenOn
	}
	return r.row.ChosenOn
}

// marked reports whether row r's run is marked to compare; in the grouped
// table, whether any run of its group is.
func (v *tableView) marked(r tableRow) bool {
	if r.group != nil {
		return slices.ContainsFunc(r.group.IDs, v.c.marked)
	}
	return v.c.marked(r.run.ID)
}

// centerText centres s in w cells.
func centerText(s string, w int) string {
	n := w - cellWidth(s)
	if n <= 0 {
		return truncate(s, w)
	}
	return strings.Repeat(" ", n/2) + s + strings.Repeat(" ", n-n/2)
}
