package main

import (
	"github.com/vaxcert/vaxcert/schemas"

	"os"

	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// newFlagSet returns a flag set for the command name that reports errors
// to its caller instead of printing them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments (up to
// a "--"), and returns the positional arguments. -h and --help give
// flag.ErrHelp; other errors are usage errors.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, commandUsageError(fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// commandUsageError reports a malformed command line for the command name.
func commandUsageError(name string, err error) error {
	return &cliError{err: err, code: exitError,
		hints: []string{fmt.Sprintf("run \"vaxcert help %s\" for usage", name)}}
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// durationFlag is a duration flag that also accepts whole days, "365d".
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(v string) error {
	d, err := parseDuration(v)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

// errDuration is returned for a duration flag value that is neither a Go
// duration ("36h", "90m") nor a whole number of days ("365d").
var errDuration = errors.New("invalid duration (want e.g. 365d, 36h or 90m)")

// maxDays bounds a duration in days so that it cannot overflow.
const maxDays = 100 * 365

func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > maxDays {
			return 0, errDuration
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errDuration
	}
	return d, nil
}

// loadValueSets returns the EU value sets: the embedded ones, with the
// files of dir (newer releases, *.json) on top when dir is set.
func loadValueSets(dir string) (*schemas.ValueSets, error) {
	if dir == "" {
		return schemas.DefaultValueSets(), nil
	}
	vs, err := schemas.LoadValueSetsDir(os.DirFS(dir))
	if err != nil {
		return nil, withHint(err, "--value-sets takes a folder of EU value-set files (*.json), e.g. a release of ehn-dcc-development/eu-dcc-valuesets")
	}
	return vs, nil
}
