package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/vaxcert/vaxcert/internal/wrkrun"
)

// WrkResult is wrk's measurement of the citizen load, from its own
// process: the same clients and requests, one connection per client.
type WrkResult = wrkrun.Result

// runWrk runs wrk against base for duration, with one thread per CPU and
// one connection per citizen, cycling through the citizens' two requests.
// The Lua script goes to dir.
func runWrk(ctx context.Context, base, dir string, cs []citizen, duration time.Duration) (*WrkResult, error) {
	r, err := wrkrun.Run(ctx, wrkrun.Options{URL: base, Script: wrkScript(cs), Dir: dir, Threads: runtime.NumCPU(),
		Connections: len(cs), Duration: duration})
	if errors.Is(err, wrkrun.ErrNoWrk) {
		return nil, errNoWrk
	}
	return r, err
}

// errNoWrk is returned for --wrk when wrk is not installed.
var errNoWrk = errors.New("--wrk needs wrk(1) on the PATH (Debian: apt-get install wrk)")

// wrkScript is a wrk Lua script that sends each citizen's certificate
// list and certificate in turn.
func wrkScript(cs []citizen) []byte {
	var b bytes.Buffer
	b.WriteString("-- Written by vaxbench: each citizen's list, then certificate, in turn.\nlocal citizens = {\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "  {%q, %q},\n", c.token, c.self)
	}
	b.WriteString(`}
local reqs = {}
init = function(args)
  for _, c in ipairs(citizens) do
    local h = { ["Authorization"] = "Bearer " .. c[1] }
    reqs[#reqs + 1] = wrk.format("GET", "/v1/me/certificates", h)
    reqs[#reqs + 1] = wrk.format("GET", c[2], h)
  end
end
local n = 0
request = function()
  n = n % #reqs + 1
  return reqs[n]
end
`)
	return b.Bytes()
}
