package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/vaxcert/vaxcert/schemas"
)

const versionUsage = `Usage:
    vaxcert version

Print the vaxcert version and the Go version it was built with, then the
embedded EU DCC schema releases and EU value-set release.
`

// version is set at link time: go build -ldflags "-X main.version=v1.0.0".
// When empty, the module version from the build information is used.
var version string

func runVersion(e *env, args []string) error {
	pos, err := parseFlags(newFlagSet("version"), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return commandUsageError("version", fmt.Errorf("unexpected argument %q", pos[0]))
	}
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	var rel []string
	for _, s := range schemas.Schemas() {
		rel = append(rel, s.Version)
	}
	_, err = fmt.Fprintf(e.stdout, "vaxcert %s %s\nEU DCC schema %s; EU value sets %s (eu-dcc-valuesets)\n",
		v, runtime.Version(), strings.Join(rel, ", "), schemas.ValueSetsRelease)
	return err
}
