package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errTooLarge is returned for an input file larger than its limit.
var errTooLarge = errors.New("input exceeds its size limit")

// readInput reads the file name, or standard input for "-", failing with
// errTooLarge beyond limit bytes.
func (e *env) readInput(name string, limit int64) ([]byte, error) {
	r := e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", displayName(name), errTooLarge, limit)
	}
	return b, nil
}

// displayName names an input in messages.
func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// writeFileAtomic writes data to name through a temporary file in the same
// folder, synced and renamed over name, so that name never holds a partial
// file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
