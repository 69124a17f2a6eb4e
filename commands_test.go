package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// flagNames lists the flags a command declares.
func flagNames(c *command) []string {
	fs, _ := c.flagSet()
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// helpArgs is the command line of a command's -h.
func helpArgs(c *command) []string {
	if c == dashboardCommand {
		return []string{"--runs", "x", "-h"}
	}
	return []string{c.name, "-h"}
}

// The usage lists every command of the table, and every other form, with
// its summary; help, -h, --help, -help and fmnist alone (off a terminal)
// all print it and exit 0.
func TestUsageListsEveryCommand(t *testing.T) {
	var b bytes.Buffer
	writeUsage(&b)
	usage := b.String()
	if !strings.HasPrefix(usage, usageHead) || !strings.Contains(usage, "\nUsage:\n") || !strings.HasSuffix(usage, usageFoot) {
		t.Errorf("usage lacks its head, Usage: or foot:\n%s", usage)
	}
	for _, c := range listed() {
		for _, f := range append([]form{{c.synopsis, c.summary}}, c.forms...) {
			head := strings.TrimSpace("fmnist "+c.call()) + " " + synopsisWords(f.synopsis)[0]
			if !strings.Contains(usage, "  "+head) || !strings.Contains(usage, f.summary+"\n") {
				t.Errorf("usage lacks %q or %q", head, f.summary)
			}
		}
	}
	for _, c := range listed() {
		head := "  " + strings.TrimSpace("fmnist "+c.call())
		lines := wrapSynopsis(head, c.synopsis)
		for i, l := range lines {
			if len([]rune(l)) > usageWidth || (i > 0 && !strings.HasPrefix(l, strings.Repeat(" ", len(head)+1)+"[") && !strings.HasPrefix(l, strings.Repeat(" ", len(head)+1)+"-")) {
				t.Errorf("%s: synopsis line %q (longer than %d columns, or not indented under the first word)", c.name, l, usageWidth)
			}
		}
		if got := strings.Join(strings.Fields(strings.Join(lines, " ")), " "); got != strings.Join(strings.Fields(head+" "+c.synopsis), " ") {
			t.Errorf("%s: wrapped synopsis %q", c.name, got)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}, {}} {
		out, stderr, code := fmnist(t, args...)
		if code != 0 || out != usage || stderr != "" {
			t.Errorf("fmnist %v: exit %d, stderr %q, stdout:\n%s", args, code, stderr, out)
		}
	}
}

// Every command's -h (and help COMMAND) exits 0 with its summary, its usage
// lines and every flag it declares.
func TestCommandHelpListsFlags(t *testing.T) {
	for _, c := range listed() {
		out, stderr, code := fmnist(t, helpArgs(c)...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", helpArgs(c), code, stderr)
		}
		if !strings.Contains(out, c.summary) || !strings.Contains(out, "Usage:\n  fmnist") {
			t.Errorf("%v lacks the summary or usage:\n%s", helpArgs(c), out)
		}
		names := flagNames(c)
		if len(names) > 0 && !strings.Contains(out, "\nFlags:\n") {
			t.Errorf("%v lacks Flags:\n%s", helpArgs(c), out)
		}
		for _, n := range names {
			if !strings.Contains(out, "\n  -"+n+" ") && !strings.Contains(out, "\n  -"+n+"\n") {
				t.Errorf("%v does not list -%s:\n%s", helpArgs(c), n, out)
			}
		}
		if c == dashboardCommand {
			continue
		}
		if h, _, code := fmnist(t, "help", c.name); code != 0 || h != out {
			t.Errorf("help %s (exit %d) differs from %s -h:\n%s", c.name, code, c.name, h)
		}
	}
}

// Every flag a synopsis names is a flag of its command, and the commands
// that take no arguments say so in no synopsis.
func TestSynopsisFlagsExist(t *testing.T) {
	for _, c := range listed() {
		fs, _ := c.flagSet()
		for _, f := range append([]form{{c.synopsis, c.summary}}, c.forms...) {
			for name := range synopsisFlags(f.synopsis) {
				if fs.Lookup(name) == nil {
					t.Errorf("%s: synopsis %q names --%s, which it does not declare", c.name, f.synopsis, name)
				}
			}
		}
		if c.summary == "" || strings.Contains(c.summary, "\n") {
			t.Errorf("%s: summary %q is not one line", c.name, c.summary)
		}
	}
}

// An unknown command, a bad flag or a stray argument: one line, exit 2.
func TestUnknownCommandBadInputExits2(t *testing.T) {
	cases := []badInput{
		{[]string{"frobnicate"}, `unknown command "frobnicate" (want archs, train,`},
		{[]string{"help", "frobnicate"}, `help: unknown command "frobnicate"`},
		{[]string{"help", "train", "table"}, `help: unexpected argument "table"`},
		{[]string{"-x"}, "dashboard: flag provided but not defined: -x"},
		{[]string{"--runs", "x", "extra"}, `dashboard: unexpected argument "extra"`},
		{[]string{"table", "--nope"}, "table: flag provided but not defined: -nope"},
		{[]string{"archs", "extra"}, `archs: unexpected argument "extra"`},
		{[]string{"train", "--epochs", "x"}, `train: invalid value "x" for flag -epochs`},
		{[]string{"predict", "--top"}, "predict: flag needs an argument: -top"},
		{[]string{"completion", "zsh"}, "completion: want 'fmnist completion bash'"},
	}
	expectOneLineErrorsExit(t, cases, 2)
	_, stderr, _ := fmnist(t, "frobnicate")
	for _, c := range commands {
		if !strings.Contains(stderr, c.name) {
			t.Errorf("the unknown-command error does not name %s: %q", c.name, stderr)
		}
	}
}

// --runs and --data have the same name, default and help in every command
// that declares them.
func TestSharedRunsDataFlagHelp(t *testing.T) {
	seen := map[string][]string{}
	for _, c := range listed() {
		fs, _ := c.flagSet()
		for name, want := range map[string]*flag.Flag{
			"runs": {Usage: runsHelp, DefValue: "runs"},
			"data": {Usage: dataHelp, DefValue: ""},
		} {
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			seen[name] = append(seen[name], c.name)
			if f.Usage != want.Usage || f.DefValue != want.DefValue {
				t.Errorf("%s --%s: help %q, default %q; want %q, %q", c.name, name, f.Usage, f.DefValue, want.Usage, want.DefValue)
			}
		}
	}
	want := map[string][]string{
		"runs": {"dashboard", "train", "table", "compare", "eval", "predict", "report", "detect", "serve", "sync"},
		"data": {"dashboard", "train", "compare", "bench", "eval", "report", "synth-video", "serve", "worker", "sweep"},
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("commands with --runs and --data: %v, want %v", seen, want)
	}
}

// Arguments may come before, between and after the flags of a command that
// takes them; after "--" everything is an argument.
func TestParseArgs(t *testing.T) {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	top := fs.Int("top", 1, "")
	got, err := parseArgs(fs, []string{"a.png", "--top", "2", "b.png", "--", "-c.png", "--top"}, true)
	if err != nil || *top != 2 || !reflect.DeepEqual(got, []string{"a.png", "b.png", "-c.png", "--top"}) {
		t.Errorf("got %q, top %d, err %v", got, *top, err)
	}
	if _, err := parseArgs(flag.NewFlagSet("archs", flag.ContinueOnError), []string{"x"}, false); err == nil || err.Error() != `unexpected argument "x"` {
		t.Errorf("an argument to a command without arguments: %v", err)
	}
}

// The README's Commands section shows the usage as fmnist help prints it.
func TestREADMEShowsUsage(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Skip(err)
	}
	readme := string(b)
	var u bytes.Buffer
	writeUsage(&u)
	i := strings.Index(readme, "\n## Commands\n")
	if i < 0 || !strings.Contains(readme[i:], "```\n$ fmnist help\n"+u.String()+"```\n") {
		t.Errorf("README.md's Commands section does not show 'fmnist help' as it prints:\n%s", u.String())
	}
}

// The bash completion script completes commands, each command's flags and
// the values a synopsis lists; it is valid bash.
func TestCompletionBashUsage(t *testing.T) {
	script, stderr, code := fmnist(t, "completion", "bash")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	cases := map[string]string{
		"fmnist tr":                   "train",
		"fmnist synt":                 "synth-video",
		"fmnist syn":                  "synth-video sync",
		"fmnist --pa":                 "--parallel",
		"fmnist train --ep":           "--epochs",
		"fmnist table -":              "--format -o --runs --runs-only",
		"fmnist train --recipe ''":    "seed improved",
		"fmnist table --format ''":    "md text csv json",
		"fmnist report --format p":    "png pdf",
		"fmnist detect --mode ''":     "single fast quality",
		"fmnist help se":              "serve",
		"fmnist completion ''":        "bash",
		"fmnist table --runs ''":      "", // a file name: bash's default
		"fmnist predict --model m ''": "",
		// [--seeds 1-5|--repeats N] names two flags, not values of --seeds.
		"fmnist train --seeds ''": "",
	}
	var prog strings.Builder
	prog.WriteString(script)
	prog.WriteString(`c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _fmnist; echo "${COMPREPLY[*]}"; }` + "\n")
	var lines []string
	for line := range cases {
		lines = append(lines, line)
		prog.WriteString("c " + line + "\n")
	}
	out, err := exec.Command(bash, "--norc", "-c", prog.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(lines) {
		t.Fatalf("%d answers for %d lines:\n%s", len(got), len(lines), out)
	}
	for i, line := range lines {
		if got[i] != cases[line] {
			t.Errorf("%s<TAB>: %q, want %q", line, got[i], cases[line])
		}
	}
	for _, c := range commands {
		for _, n := range flagNames(c) {
			if !strings.Contains(script, flagName(n)) {
				t.Errorf("the script lacks %s %s", c.name, flagName(n))
			}
		}
	}
}
