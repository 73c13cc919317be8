//go:build js && wasm

package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/verifier"
)

// webCrypto returns a verifier.SignatureVerifierFunc that checks
// signatures with the browser's SubtleCrypto (native code: P-256 in Go
// compiled to WebAssembly is about ten times slower than in native Go),
// or nil where the page has no SubtleCrypto (not a secure context): then
// go-cose's Go code does it.
//
// SubtleCrypto is asynchronous, so a verification must run on a goroutine
// of its own, never in the JS callback itself (see main.go).
//
// The verifiers it made are kept by algorithm and key for the page's
// life: the verifier is rebuilt with every list update (each visit and
// every 15 minutes), and the first scan after one would otherwise wait for
// SubtleCrypto to import the key again.
func webCrypto() verifier.SignatureVerifierFunc {
	subtle := js.Global().Get("crypto")
	if subtle.IsUndefined() || subtle.Get("subtle").IsUndefined() {
		return nil
	}
	subtle = subtle.Get("subtle")
	var (
		mu      sync.Mutex
		made    = map[string]*webVerifier{} // by alg and SPKI
		imports int
	)
	return func(alg cose.Algorithm, key crypto.PublicKey) (cose.Verifier, error) {
		goVerifier, err := cose.NewVerifier(alg, key) // checks that the key fits the algorithm
		if err != nil {
			return nil, err
		}
		var importParams, verifyParams map[string]any
		switch alg {
		case cose.AlgorithmES256:
			importParams = map[string]any{"name": "ECDSA", "namedCurve": "P-256"}
			verifyParams = map[string]any{"name": "ECDSA", "hash": "SHA-256"}
		case cose.AlgorithmPS256:
			importParams = map[string]any{"name": "RSA-PSS", "hash": "SHA-256"}
			verifyParams = map[string]any{"name": "RSA-PSS", "saltLength": 32} // salt length = hash length, as go-cose
		default:
			return goVerifier, nil
		}
		spki, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			return nil, err
		}
		id := alg.String() + "\x00" + string(spki)
		mu.Lock()
		w := made[id]
		mu.Unlock()
		if w != nil {
			return w, nil
		}
		buf := js.Global().Get("Uint8Array").New(len(spki))
		js.CopyBytesToJS(buf, spki)
		k, err := await(subtle.Call("importKey", "spki", buf, importParams, false, []any{"verify"}))
		if err != nil {
			return goVerifier, nil // the browser lacks the algorithm: Go does it
		}
		w = &webVerifier{subtle: subtle, alg: alg, key: k, params: js.ValueOf(verifyParams)}
		mu.Lock()
		if len(made) >= limits.MaxTrustEntries { // trust lists replaced many times over: start again
			clear(made)
		}
		made[id] = w
		imports++
		mu.Unlock()
		js.Global().Get("vaxcert").Set("keyImports", imports) // for the browser test
		return w, nil
	}
}

// webVerifier is a cose.Verifier over a SubtleCrypto key. The CryptoKey
// is imported once per trusted key (the verifier caches its signature
// verifiers per trust entry).
type webVerifier struct {
	subtle, key, params js.Value
	alg                 cose.Algorithm
}

func (w *webVerifier) Algorithm() cose.Algorithm { return w.alg }

// Verify checks sig over content (SubtleCrypto hashes it). ES256
// signatures are r‖s as in COSE, the form SubtleCrypto takes.
func (w *webVerifier) Verify(content, sig []byte) error {
	ok, err := calls.verify(w, content, sig)
	if err != nil {
		return fmt.Errorf("webcrypto: %v: %w", err, cose.ErrVerification)
	}
	if !ok.Truthy() {
		return cose.ErrVerification
	}
	return nil
}

// calls runs the SubtleCrypto calls one at a time (a scan is one verify;
// two at once wait for each other's signature, a fraction of a
// millisecond). Holding one call at a time is what lets every verify
// reuse the same two long-lived JS callbacks and the same byte buffer:
// no js.FuncOf, Uint8Array or copy per verify beyond one copy of the
// signature and the signed bytes, which SubtleCrypto copies itself
// when called (so the buffer can be refilled as soon as verify returns).
var calls = &webCalls{done: make(chan result, 1)}

type result struct {
	v   js.Value
	err error
}

type webCalls struct {
	mu             sync.Mutex
	done           chan result
	resolve, fail  js.Func // long-lived: the promise's then and catch
	buf            js.Value
	size           int
	sigN, contentN int      // the lengths the views were made for
	sigV, contentV js.Value // views of buf
}

// verify calls SubtleCrypto.verify and waits for its answer.
func (c *webCalls) verify(w *webVerifier, content, sig []byte) (js.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resolve.IsUndefined() {
		c.resolve = js.FuncOf(func(_ js.Value, args []js.Value) any { c.done <- result{v: args[0]}; return nil })
		c.fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
			c.done <- result{err: errors.New(args[0].Call("toString").String())}
			return nil
		})
	}
	n := len(sig) + len(content)
	if n > c.size {
		c.size = max(n, 2*c.size, 1024)
		c.buf = js.Global().Get("Uint8Array").New(c.size)
		c.sigN = -1
	}
	if c.sigN != len(sig) || c.contentN != len(content) {
		c.sigV, c.contentV = c.buf.Call("subarray", 0, len(sig)), c.buf.Call("subarray", len(sig), n)
		c.sigN, c.contentN = len(sig), len(content)
	}
	// One copy into the buffer; a scratch slice keeps it to one call.
	scratch := c.scratch(n)
	copy(scratch, sig)
	copy(scratch[len(sig):], content)
	js.CopyBytesToJS(c.buf, scratch)
	w.subtle.Call("verify", w.params, w.key, c.sigV, c.contentV).Call("then", c.resolve, c.fail)
	r := <-c.done
	return r.v, r.err
}

var scratchBuf []byte

func (c *webCalls) scratch(n int) []byte {
	if cap(scratchBuf) < n {
		scratchBuf = make([]byte, n, max(n, 1024))
	}
	return scratchBuf[:n]
}

// await waits for a JS promise; it must run on a goroutine that is not a
// JS callback. (For the one-off key import; verify uses webCalls.)
func await(p js.Value) (js.Value, error) {
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any { ch <- result{v: args[0]}; return nil })
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}
