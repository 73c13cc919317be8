package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildBinary builds the main package pkg of this module (for example
// "./cmd/vaxcert") into a new temporary folder, for tests that run the
// program as a child process (crash and chaos tests). It returns the
// binary's path and a function that removes the folder.
func BuildBinary(pkg string) (path string, cleanup func(), err error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(gomod)) == 0 {
		return "", nil, fmt.Errorf("testkit: cannot find the module root (go env GOMOD): %v", err)
	}
	dir, err := os.MkdirTemp("", "vaxcert-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", path, pkg)
	build.Dir = filepath.Dir(string(bytes.TrimSpace(gomod)))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("testkit: go build %s: %w", pkg, err)
	}
	return path, cleanup, nil
}
