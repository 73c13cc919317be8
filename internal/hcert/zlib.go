package hcert

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"io"
	"sync"
)

// inflater is a reusable zlib reader. A fresh zlib reader costs more than
// every other verify step but the signature, so readers are pooled and Reset.
type inflater struct {
	src bytes.Reader
	zr  io.ReadCloser
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// AppendInflate appends the zlib-decompressed src to dst, reading at most
// limit+1 bytes of output: a stream that inflates past limit (a
// decompression bomb) fails with [ErrTooLarge] after limit+1 bytes. A broken
// stream, a bad checksum, a missing zlib wrapper or trailing bytes after the
// stream fail with [ErrDecompress].
//
// Reference: hcert_spec.md §4.2.1: "the CWT SHALL be compressed using ZLIB
// (RFC 1950) and the Deflate compression mechanism (RFC 1951)".
func AppendInflate(dst, src []byte, limit int) ([]byte, error) {
	in := inflaters.Get().(*inflater)
	defer inflaters.Put(in)
	in.src.Reset(src)
	var err error
	if in.zr == nil {
		in.zr, err = zlib.NewReader(&in.src)
	} else {
		err = in.zr.(zlib.Resetter).Reset(&in.src, nil)
	}
	if err != nil {
		in.zr = nil // a failed NewReader returns no reader to reuse
		return dst, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, rerr := in.zr.Read(dst[len(dst):min(cap(dst), start+limit+1)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst[:start], fmt.Errorf("%w: inflated data over %d bytes", ErrTooLarge, limit)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return dst[:start], fmt.Errorf("%w: %v", ErrDecompress, rerr)
		}
	}
	if in.src.Len() != 0 {
		return dst[:start], fmt.Errorf("%w: trailing bytes after the zlib stream", ErrDecompress)
	}
	return dst, nil
}

// DeflateLevel is the compression level the issuer uses. DCC payloads are
// small and barely compress (mostly random signature bytes and short
// strings): the level was chosen by measuring output size and time on real
// payloads (see README, "Performance"). Levels 7-9 write the 0x78DA header,
// the others 0x789C (or 0x7801 for level 1); all are valid zlib.
const DeflateLevel = flate.BestSpeed

type deflater struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	zw, err := zlib.NewWriterLevel(&d.buf, DeflateLevel)
	if err != nil {
		panic(err) // DeflateLevel is a valid constant
	}
	d.zw = zw
	return d
}}

// AppendDeflate appends the zlib compression of src to dst, using pooled
// writers at [DeflateLevel].
func AppendDeflate(dst, src []byte) []byte {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.buf.Reset()
	d.zw.Reset(&d.buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = d.zw.Write(src)
	_ = d.zw.Close()
	return append(dst, d.buf.Bytes()...)
}
