package main

// The command table: every subcommand is declared once, here, with its
// synopsis, summary, flags and run function. Dispatch (run), the usage
// (`fmnist help`, `fmnist -h`), each command's -h (`fmnist help COMMAND`) and
// the bash completion script are all made from it. Beside it are the flags
// and the signal handling that several commands share: --runs, --data, and a
// context cancelled on SIGINT or SIGTERM.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// A command is one entry of the command table.
type command struct {
	name     string // what follows fmnist ("dashboard" is fmnist with no command)
	synopsis string // its arguments, as the usage shows them after the name
	summary  string // one line: what it does
	forms    []form // other ways to call it, each with its own usage line
	args     bool   // takes arguments besides the flags (before, between or after them)
	// flags declares the command's flags on fs and returns the function that
	// runs the command once they are parsed.
	flags func(fs *flag.FlagSet) runFunc
}

// A form is another way to call a command (train --resume RUN_ID).
type form struct{ synopsis, summary string }

// runFunc runs a command whose flags are parsed; args are its other
// arguments (none unless the command takes them).
type runFunc func(args []string, stdout, stderr io.Writer) error

// commands is the command table, in the order of the usage; dashboardCommand
// is fmnist with no command, or only flags: the dashboard. It has no name to
// type, so it is not in the table, but the usage shows it first. (Both are
// set by init: help and completion read them.)
var (
	commands         []*command
	dashboardCommand *command
)

func init() {
	dashboardCommand = &command{name: "dashboard", synopsis: "[--runs DIR] [--nats URL]", summary: "the dashboard (in a terminal)", flags: dashboardCmd}
	commands = []*command{
		{name: "archs", synopsis: "[--format text|json]", summary: "the six architectures, parameters and recipes", flags: archsCmd},
		{name: "train", synopsis: "[--models CNN2,model5|all] [--seeds 1-5|--repeats N] [--recipe seed|improved] [--set KEY=VALUE,...] [--val N] [--epochs N] [--limit-train N] [--limit-test N] [--data DIR] [--runs DIR] [--seed N] [--parallel N] [--headless]",
			summary: "train models (the seed's recipes or improved ones), once or per seed", flags: trainCmd, forms: []form{
				{"--resume RUN_ID [--runs DIR] [--data DIR]", "continue a cancelled or crashed run from its last epoch"},
				{"--models CNN2_det [--det-frames N] [--det-photos DIR|none]", "train a detection model (ten classes and background) on synthetic scenes, some set in photos"},
			}},
		{name: "table", synopsis: "[--runs DIR] [--format md|text|csv|json] [--runs-only] [-o FILE]", summary: "compare recorded runs: mean ± sd over seeds, or one row per run", flags: tableCmd},
		{name: "compare", synopsis: "A B [--runs DIR] [--data DIR] [--format text|md|json]",
			summary: "is A better than B? (models, MODEL:RECIPE, runs) t-test and McNemar", args: true, flags: compareCmd},
		{name: "bench", synopsis: "[--models ...] [--recipe seed|improved] [--set KEY=VALUE,...] [--limit-train N] [--limit-test N] [--data DIR] [--json] [--cpuprofile FILE]",
			summary: "training and inference speed per model", flags: benchCmd},
		{name: "eval", synopsis: "--model RUN_DIR|RUN_ID|MODEL_DIR|best [--runs DIR] [--data DIR] [--split test|train|val] [--limit-test N] [--final] [--mirror] [--json]",
			summary: "reload a saved model: test accuracy, per class, confusion matrix", flags: evalCmd},
		{name: "predict", synopsis: "--model RUN_DIR|RUN_ID|MODEL_DIR|best [--runs DIR] [--final] [--top N] IMAGE...",
			summary: "classify PNG or JPEG files", args: true, flags: predictCmd},
		{name: "report", synopsis: "[--runs DIR] [-o DIR] [--format png|svg|pdf]",
			summary: "charts (PNG by default) and a Markdown report of every run", flags: reportCmd},
		{name: "detect", synopsis: "--in VIDEO --out OUT.avi [--model RUN_DIR|RUN_ID|MODEL_DIR|best] [--runs DIR] [--threshold P] [--mode single|fast|quality] [--json FILE] [--truth FILE] [--headless] [--seed-pipeline]",
			summary: "label fashion items in a video (selective search + the model)", flags: detectCmd},
		{name: "synth-video", synopsis: "--out VIDEO --truth TRUTH.json [--frames N] [--size WxH] [--seed N] [--split test|val|train]",
			summary: "a test video of Fashion-MNIST items, with ground truth", flags: synthVideoCmd},
		{name: "record", synopsis: "[--camera N] [--frames N] [--out FILE]",
			summary: "record from a camera (MJPG, 10 fps), as the seed did", flags: recordCmd},
		{name: "serve", synopsis: "[--listen 127.0.0.1:23234] [--authorized-keys FILE] [--host-key FILE] [--runs DIR] [--read-only] [--nats-listen ADDR]",
			summary: "the dashboard over SSH: one training process, any number of viewers", flags: serveCmd},
		{name: "worker", synopsis: "--nats URL [--data DIR] [--slots N] [--name NAME]",
			summary: "train runs queued on a cluster (NATS JetStream), on this machine", flags: workerCmd},
		{name: "sweep", synopsis: "--nats URL --models CNN2,model5|all [--seeds 1-5] [--recipe seed|improved] [--set KEY=VALUE,...] [--val N] [--epochs N] [--limit-train N] [--limit-test N]",
			summary: "queue a grid of models x seeds on a cluster (queuing it again adds nothing)", flags: sweepCmd},
		{name: "sync", synopsis: "--nats URL [--runs DIR]", summary: "copy a cluster's run records and model files into a runs directory", flags: syncCmd},
		{name: "nats-key", synopsis: "-o SEED_FILE", summary: "a new NATS user key: the seed into the file, the public key printed", flags: natsKeyCmd},
		{name: "help", synopsis: "[COMMAND]", summary: "this text, or a command's usage and flags", args: true, flags: helpCmd},
		{name: "completion", synopsis: "bash", summary: "a bash completion script: source <(fmnist completion bash)", args: true, flags: completionCmd},
	}
}

// lookup finds a command of the table by name.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run runs the command line args (without the program name).
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 && !isTerminal(stdout) {
		writeUsage(stdout) // `fmnist` off a terminal: the usage, as before the dashboard existed
		return nil
	}
	if isDashboardArgs(args) {
		return dashboardCommand.exec(args, stdout, stderr) // `fmnist [--runs DIR]`
	}
	switch args[0] {
	case "-h", "-help", "--help":
		writeUsage(stdout)
		return nil
	}
	c := lookup(args[0])
	if c == nil {
		return exitError{2, fmt.Errorf("unknown command %q (want %s; see 'fmnist help')", args[0], commandList())}
	}
	return c.exec(args[1:], stdout, stderr)
}

// commandList is "archs, train, ... or completion".
func commandList() string {
	names := commandNames()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// flagSet returns the command's flags, declared, and its run function.
func (c *command) flagSet() (*flag.FlagSet, runFunc) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h is written by writeHelp
	return fs, c.flags(fs)
}

// exec parses the command's flags and runs it. -h prints the command's help
// and ends cleanly; a bad flag or argument is a one-line error, exit status 2.
func (c *command) exec(args []string, stdout, stderr io.Writer) error {
	fs, runCmd := c.flagSet()
	rest, err := parseArgs(fs, args, c.args)
	if errors.Is(err, flag.ErrHelp) {
		c.writeHelp(stdout, fs)
		return exitError{0, errSilent}
	}
	if err != nil {
		return exitError{2, fmt.Errorf("%s: %v", c.name, err)}
	}
	return runCmd(rest, stdout, stderr)
}

// parseArgs parses the flags in args. With positional set, arguments may
// come before, between or after the flags (after "--" all are arguments);
// they are returned in order. Without it any argument is an error.
func parseArgs(fs *flag.FlagSet, args []string, positional bool) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		if !positional {
			return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		if n := len(args) - fs.NArg(); n > 0 && args[n-1] == "--" {
			return append(rest, fs.Args()...), nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

const (
	usageHead   = "fmnist — train and compare small CNNs on Fashion-MNIST\n"
	usageFoot   = "Run 'fmnist help COMMAND' or 'fmnist COMMAND -h' for a command's flags.\n"
	usageWidth  = 100 // synopses are wrapped at this column
	summaryAt   = 43  // summaries start at this column, on a line of their own if need be
	usageIndent = "  "
)

// listed are the commands the usage lists: the dashboard, then the table.
func listed() []*command { return append([]*command{dashboardCommand}, commands...) }

// writeUsage writes the usage: every command of the table, one line each
// (and one for each other form), the dashboard first.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\nUsage:\n", usageHead)
	for _, c := range listed() {
		c.writeLines(w, true)
	}
	fmt.Fprintf(w, "\n%s", usageFoot)
}

// writeHelp is the command's -h: its usage lines and its flags.
func (c *command) writeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s — %s\n\nUsage:\n", strings.TrimSpace("fmnist "+c.call()), c.summary)
	c.writeLines(w, false)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// call is what is typed after fmnist to run the command.
func (c *command) call() string {
	if c == dashboardCommand {
		return ""
	}
	return c.name
}

// writeLines writes the command's usage lines: one per form, the summary
// after the synopsis or, when there is no room, on the next line. Without
// summary, the first form's summary is left out (the help's title has it).
func (c *command) writeLines(w io.Writer, summary bool) {
	for i, f := range append([]form{{c.synopsis, c.summary}}, c.forms...) {
		head := usageIndent + strings.TrimSpace("fmnist "+c.call())
		lines := wrapSynopsis(head, f.synopsis)
		last := lines[len(lines)-1]
		switch {
		case i == 0 && !summary:
		case len(lines) == 1 && len([]rune(last)) <= summaryAt-2:
			lines[0] = last + strings.Repeat(" ", summaryAt-len([]rune(last))) + f.summary
		default:
			lines = append(lines, strings.Repeat(" ", summaryAt)+f.summary)
		}
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
}

// wrapSynopsis lays out head and the synopsis's words (a bracketed group is
// one word) in lines of at most usageWidth columns, continuation lines
// indented under the first word.
func wrapSynopsis(head, synopsis string) []string {
	lines := []string{head}
	indent := strings.Repeat(" ", len([]rune(head))+1)
	for _, word := range synopsisWords(synopsis) {
		cur := &lines[len(lines)-1]
		if n := len([]rune(*cur)); n+1+len([]rune(word)) > usageWidth && n > len(indent) {
			lines = append(lines, indent+word)
			continue
		}
		*cur += " " + word
	}
	return lines
}

// synopsisWords splits a synopsis at the spaces outside brackets.
func synopsisWords(s string) []string {
	var words []string
	depth, start := 0, 0
	for i, r := range s + " " {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case r == ' ' && depth == 0:
			if i > start {
				words = append(words, s[start:i])
			}
			start = i + 1
		}
	}
	return words
}

// synopsisFlags are the flags a synopsis names, each with the values it
// lists when they are words to type (--format md|csv|json), nil otherwise.
func synopsisFlags(synopsis string) map[string][]string {
	out := map[string][]string{}
	words := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(synopsis))
	for i, w := range words {
		if !strings.HasPrefix(w, "-") {
			continue
		}
		name := strings.TrimLeft(w, "-")
		out[name] = out[name] // named, with values or not
		if i+1 < len(words) && strings.Contains(words[i+1], "|") {
			vals := strings.Split(words[i+1], "|")
			literal := true
			for _, v := range vals {
				literal = literal && v != "" && !strings.HasPrefix(v, "-") && strings.Trim(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
			}
			if literal {
				out[name] = vals
			}
		}
	}
	return out
}

// helpCmd is `fmnist help [COMMAND]`: the usage, or the command's -h.
func helpCmd(*flag.FlagSet) runFunc {
	return func(args []string, stdout, _ io.Writer) error {
		switch {
		case len(args) == 0:
			writeUsage(stdout)
			return nil
		case len(args) > 1:
			return exitError{2, fmt.Errorf("help: unexpected argument %q (one command at a time)", args[1])}
		}
		c := lookup(args[0])
		if c == nil {
			return exitError{2, fmt.Errorf("help: unknown command %q (want %s)", args[0], commandList())}
		}
		cfs, _ := c.flagSet()
		c.writeHelp(stdout, cfs)
		return nil
	}
}

// Flags several commands share: same names, defaults and help everywhere.

const (
	runsHelp = "directory of run records"
	dataHelp = "Fashion-MNIST directory (default: $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)"
)

// runsFlag declares --runs, the directory of run records.
func runsFlag(fs *flag.FlagSet) *string { return fs.String("runs", "runs", runsHelp) }

// dataFlag declares --data, the Fashion-MNIST directory ("": the default,
// which trainer.Load and trainer.DefaultDataDir resolve).
func dataFlag(fs *flag.FlagSet) *string { return fs.String("data", "", dataHelp) }

// Signal handling, for the commands that can be cancelled.

// signalContext returns a context cancelled on the first SIGINT (Ctrl-C) or
// SIGTERM, and on the extra signals given (the dashboard adds SIGHUP); the
// command then stops cleanly. stop restores the signals' default action.
func signalContext(extra ...os.Signal) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(context.Background(), append([]os.Signal{os.Interrupt, syscall.SIGTERM}, extra...)...)
}

// exitCancelled is the exit status of a command cancelled by a signal (or
// by the user in its view), 128 + SIGINT as shells report Ctrl-C.
const exitCancelled = 130

// errCancelled ends a cancelled command with msg and exitCancelled.
func errCancelled(msg string) error { return exitError{exitCancelled, errors.New(msg)} }

// errRunsCancelled ends a command whose runs were cancelled.
func errRunsCancelled(runsDir string) error {
	return errCancelled("cancelled; finished epochs are kept in " + runsDir)
}

// Shell completion.

// completionCmd is `fmnist completion bash`.
func completionCmd(*flag.FlagSet) runFunc {
	return func(args []string, stdout, _ io.Writer) error {
		if len(args) != 1 || args[0] != "bash" {
			return exitError{2, errors.New("completion: want 'fmnist completion bash' (the only shell it knows)")}
		}
		_, err := io.WriteString(stdout, bashCompletion())
		return err
	}
}

// bashCompletion is a bash completion script for fmnist, made from the
// command table: command names, each command's flags, the values a synopsis
// lists for a flag (--format md|csv|json), and file names for other flag
// values and for arguments.
func bashCompletion() string {
	var b strings.Builder
	b.WriteString(`# bash completion for fmnist, made by 'fmnist completion bash'.
# Use it with: source <(fmnist completion bash)
_fmnist() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=
    if ((COMP_CWORD > 1)); then cmd=${COMP_WORDS[1]}; fi
    if [[ $cmd == -* ]]; then cmd=-; fi
    if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W "` + strings.Join(commandNames(), " ") + `" -- "$cur"))
        return
    fi
    [[ -z $cmd ]] && cmd=- # the dashboard's flags
    local flags= values= takes=
    case $cmd in
`)
	for _, c := range listed() {
		fs, _ := c.flagSet()
		var flags, takes []string
		fs.VisitAll(func(f *flag.Flag) {
			flags = append(flags, flagName(f.Name))
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				takes = append(takes, "--"+f.Name, "-"+f.Name)
			}
		})
		label := c.name
		if c == dashboardCommand {
			label = "-"
		}
		fmt.Fprintf(&b, "    %s)\n        flags=%q takes=%q\n", label, strings.Join(flags, " "), " "+strings.Join(takes, " ")+" ")
		values := map[string][]string{}
		for _, f := range append([]form{{c.synopsis, c.summary}}, c.forms...) {
			for name, vals := range synopsisFlags(f.synopsis) {
				if len(vals) > 0 && fs.Lookup(name) != nil {
					values[name] = vals
				}
			}
		}
		names := make([]string, 0, len(values))
		for n := range values {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			b.WriteString("        case $prev in\n")
			for _, n := range names {
				fmt.Fprintf(&b, "        --%s | -%s) values=%q ;;\n", n, n, strings.Join(values[n], " "))
			}
			b.WriteString("        esac\n")
		}
		switch c.name {
		case "help":
			fmt.Fprintf(&b, "        ((COMP_CWORD == 2)) && values=%q\n", strings.Join(commandNames(), " "))
		case "completion":
			b.WriteString("        ((COMP_CWORD == 2)) && values=bash\n")
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString(`    esac
    if [[ -n $values ]]; then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
    elif [[ $takes == *" $prev "* ]]; then
        COMPREPLY=() # a flag's value: file names
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    fi
}
complete -o default -F _fmnist fmnist
`)
	return b.String()
}

// flagName is how the usage writes a flag: -o, --runs.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// commandNames are the names of the table's commands, in order.
func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}
