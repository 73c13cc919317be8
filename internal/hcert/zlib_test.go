package hcert

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/internal/limits"
)

func zlibOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInflateRoundTrip(t *testing.T) {
	src := bytes.Repeat([]byte("HC1 payload "), 40)
	z := AppendDeflate(nil, src)
	for i := 0; i < 3; i++ { // pooled readers and writers are reused
		got, err := AppendInflate([]byte("prefix"), z, limits.MaxCOSE)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), src...)) {
			t.Fatalf("round %d: got %d bytes, %v", i, len(got), err)
		}
	}
	if z[0] != 0x78 {
		t.Errorf("zlib header %x, want 0x78 (deflate, 32 KiB window)", z[0])
	}
}

func TestInflateRejects(t *testing.T) {
	good := zlibOf(t, []byte("a small COSE message"))
	bomb := zlibOf(t, make([]byte, 10<<20)) // 10 MiB of zeros, ~10 KiB compressed
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff // adler32 mismatch
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrDecompress},
		{"raw COSE, not compressed", []byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26}, ErrDecompress},
		{"truncated", good[:len(good)-3], ErrDecompress},
		{"bad checksum", corrupt, ErrDecompress},
		{"trailing bytes", append(append([]byte(nil), good...), 0x00), ErrDecompress},
		{"decompression bomb", bomb, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AppendInflate(nil, tc.in, limits.MaxCOSE)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if len(out) != 0 {
				t.Errorf("returned %d bytes of output on error", len(out))
			}
		})
	}
	// The reader that failed is still usable from the pool.
	if _, err := AppendInflate(nil, good, limits.MaxCOSE); err != nil {
		t.Fatalf("after failures: %v", err)
	}
}

func TestInflateExactLimit(t *testing.T) {
	src := bytes.Repeat([]byte{7}, 1000)
	if _, err := AppendInflate(nil, zlibOf(t, src), 1000); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
	if _, err := AppendInflate(nil, zlibOf(t, src), 999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one over the limit: %v, want ErrTooLarge", err)
	}
}

func TestInflateVectors(t *testing.T) {
	for _, v := range dgcvectors.Load(t) {
		want, ok := v.Has("EXPECTEDCOMPRESSION")
		if !ok || v.Compressed == nil {
			continue
		}
		got, err := AppendInflate(nil, v.Compressed, limits.MaxCOSE)
		ok = err == nil && (v.COSE == nil || bytes.Equal(got, v.COSE))
		if ok != want {
			t.Errorf("%s: inflate ok = %v (err %v), want %v", v.Name, ok, err, want)
		}
	}
}

func FuzzInflate(f *testing.F) {
	f.Add(zlibOf(f, []byte("seed")))
	for _, v := range dgcvectors.LoadIfPresent() {
		if v.Compressed != nil {
			f.Add(v.Compressed)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := AppendInflate(nil, in, limits.MaxCOSE)
		if err != nil {
			if !errors.Is(err, ErrDecompress) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(out) > limits.MaxCOSE {
			t.Fatalf("inflated %d bytes past the limit", len(out))
		}
		// Anything accepted re-compresses and inflates to the same bytes.
		again, err := AppendInflate(nil, AppendDeflate(nil, out), limits.MaxCOSE)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("re-deflate round trip failed: %v", err)
		}
	})
}
