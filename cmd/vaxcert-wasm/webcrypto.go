//go:build js && wasm

package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/veraison/go-cose"

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
func webCrypto() verifier.SignatureVerifierFunc {
	subtle := js.Global().Get("crypto")
	if subtle.IsUndefined() || subtle.Get("subtle").IsUndefined() {
		return nil
	}
	subtle = subtle.Get("subtle")
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
		k, err := await(subtle.Call("importKey", "spki", uint8Array(spki), importParams, false, []any{"verify"}))
		if err != nil {
			return goVerifier, nil // the browser lacks the algorithm: Go does it
		}
		return &webVerifier{subtle: subtle, alg: alg, key: k, params: js.ValueOf(verifyParams)}, nil
	}
}

// webVerifier is a cose.Verifier over a SubtleCrypto key.
type webVerifier struct {
	subtle, key, params js.Value
	alg                 cose.Algorithm
}

func (w *webVerifier) Algorithm() cose.Algorithm { return w.alg }

// Verify checks sig over content (SubtleCrypto hashes it). ES256
// signatures are r‖s as in COSE, the form SubtleCrypto takes.
func (w *webVerifier) Verify(content, sig []byte) error {
	ok, err := await(w.subtle.Call("verify", w.params, w.key, uint8Array(sig), uint8Array(content)))
	if err != nil {
		return fmt.Errorf("webcrypto: %v: %w", err, cose.ErrVerification)
	}
	if !ok.Truthy() {
		return cose.ErrVerification
	}
	return nil
}

func uint8Array(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

// await waits for a JS promise; it must run on a goroutine that is not a
// JS callback.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
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
