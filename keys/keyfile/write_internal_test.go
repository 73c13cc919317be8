package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteAtomicNoTemp checks that writeAtomic leaves no temporary file
// behind, whether it succeeds or fails.
func TestWriteAtomicNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.pem")
	if err := writeAtomic(path, []byte("one"), certMode, false); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("two"), certMode, false); !errors.Is(err, ErrExists) {
		t.Fatalf("second write = %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("content = %q, want %q", b, "one")
	}
	if err := writeAtomic(path, []byte("three"), certMode, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "three" {
		t.Fatalf("content = %q, want %q", b, "three")
	}
	// A failed rename (the target is a non-empty directory) cleans up too.
	sub := filepath.Join(dir, "d")
	if err := os.MkdirAll(filepath.Join(sub, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(sub, []byte("x"), certMode, true); err == nil {
		t.Fatal("rename over a directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"d", "f.pem"}) {
		t.Fatalf("files = %v, want [d f.pem]", names)
	}
}
