//go:build js && wasm

// Command vaxcert-wasm is the offline verifier of the scan page, compiled
// to WebAssembly (make wasm). It registers a global object vaxcert with:
//
//	vaxcert.load(root, trustList, revocations, nowMillis[, policyJSON]) → "" or an error message
//	vaxcert.loadRules(ruleSet, country, region)            → "" or an error message
//	vaxcert.verify(qrText, nowMillis)                     → Promise of the venue answer as JSON text
//	vaxcert.info(nowMillis)                               → the lists held, as JSON text
//	vaxcert.revocations()                                 → the revocation documents held, as a bundle (JSON text), or ""
//	vaxcert.bench(qrText, nowMillis, n[, "go"])           → Promise of milliseconds per verify over n runs, one at a time
//	vaxcert.signatures                                    → "webcrypto" or "go", once loaded
//	vaxcert.keyImports                                    → how many keys SubtleCrypto imported
//
// root (the CSCA certificate the page pins), trustList and revocations
// (the signed lists of verifier/lists; the revocations may also be the
// verifier service's bundle {"full": JWS, "deltas": [JWS...]}) are
// strings or Uint8Arrays; an empty list keeps the one held. A single
// revocation list may be a delta of the one held (GET
// /v1/revocations?since=SEQ of the issuer); revocations gives back the
// full list and the deltas applied since, for the page to keep and load
// again later (offline's RevocationBundle). The first load pins the root; later loads only
// take lists that check against it and are not older than those held.
// loadRules applies a signed rule set (verifier/rules, GET /v1/rule-set)
// as the verifier service applies the one it syncs (offline's
// UpdateRuleSet): country and region are the service's (""
// for the rule set's issuer, and none). An empty rule set keeps the one
// held. verify answers what the verifier service's POST /v1/verify
// answers, built by the same code (verifier/offline over verifier/venue).
//
// Signatures are checked with the browser's SubtleCrypto where the page
// has it (webcrypto.go), which is why verify answers with a promise.
package main

import (
	"bytes"
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/offline"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

var (
	session *offline.Session
	loaded  [3][]byte // root, trust list, revocations of the first load, for bench
	// goSession is bench's session with Go's signature code.
	goSession *offline.Session
)

// bytesOf returns a string's or a Uint8Array's bytes; nil when empty.
func bytesOf(v js.Value) []byte {
	var b []byte
	switch v.Type() {
	case js.TypeString:
		b = []byte(v.String())
	case js.TypeObject:
		b = make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(b, v)
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

func timeOf(v js.Value) time.Time { return time.UnixMilli(int64(v.Float())) }

func load(_ js.Value, args []js.Value) any {
	if len(args) != 4 && len(args) != 5 {
		return "load: want root, trustList, revocations, nowMillis[, policyJSON]"
	}
	now := timeOf(args[3])
	trust, rev := bytesOf(args[1]), bytesOf(args[2])
	// The verifier service serves its revocation list as a bundle (a full
	// list and deltas, JSON); the issuer as one signed list.
	bundle := len(bytes.TrimSpace(rev)) > 0 && bytes.TrimSpace(rev)[0] == '{'
	if bundle {
		rev = nil
	}
	var err error
	if session == nil {
		opts, signatures := offline.Options{}, "go"
		if len(args) == 5 && args[4].Type() == js.TypeString && args[4].String() != "" {
			// The vaccination policy of the service that served the page.
			cfg, err := policy.ParseConfig([]byte(args[4].String()))
			if err == nil {
				opts.Policy, err = policy.New(cfg)
			}
			if err != nil {
				return "policy: " + err.Error()
			}
		}
		if f := webCrypto(); f != nil {
			opts.Verifier, signatures = append(opts.Verifier, verifier.WithSignatureVerifiers(f)), "webcrypto"
		}
		js.Global().Get("vaxcert").Set("signatures", signatures)
		loaded = [3][]byte{bytesOf(args[0]), trust, bytesOf(args[2])}
		session, err = offline.NewSession(loaded[0], trust, rev, now, opts)
	} else {
		err = session.Update(trust, rev, now)
	}
	if err == nil && bundle {
		err = session.UpdateRevocationBundle(bytesOf(args[2]), now)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func revocations(js.Value, []js.Value) any {
	if session == nil {
		return ""
	}
	return string(session.RevocationBundle())
}

func loadRules(_ js.Value, args []js.Value) any {
	if session == nil || len(args) != 3 {
		return "loadRules: load the lists first, then pass ruleSet, country, region"
	}
	set := bytesOf(args[0])
	if set == nil {
		return ""
	}
	if err := session.UpdateRuleSet(set, args[1].String(), args[2].String()); err != nil {
		return "rule set: " + err.Error()
	}
	return ""
}

// promise runs f on a goroutine of its own (SubtleCrypto is asynchronous
// and a JS callback must not block) and returns a promise of its result.
// The executor is released once the Promise constructor has called it
// (it does so before returning): nothing is kept per call.
func promise(f func() any) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve := args[0]
		go func() { resolve.Invoke(f()) }()
		return nil
	})
	defer executor.Release()
	return promiseCtor.New(executor)
}

var promiseCtor = js.Global().Get("Promise")

func verify(_ js.Value, args []js.Value) any {
	if session == nil || len(args) != 2 {
		return promise(func() any { return `{"error":"not loaded"}` })
	}
	qr, now := []byte(args[0].String()), timeOf(args[1])
	return promise(func() any {
		b, err := json.Marshal(session.Verify(qr, now))
		if err != nil {
			return `{"error":"encoding"}`
		}
		return string(b)
	})
}

func info(_ js.Value, args []js.Value) any {
	if session == nil || len(args) != 1 {
		return `{"usable":false,"problem":"not loaded"}`
	}
	b, err := json.Marshal(session.Info(timeOf(args[0])))
	if err != nil {
		return `{"usable":false,"problem":"encoding"}`
	}
	return string(b)
}

// bench verifies n times, one verify after the other as scans come, and
// returns the mean time in milliseconds, or a negative number when the
// certificate does not verify as valid. With a fourth argument "go" it
// uses Go's signature code instead of SubtleCrypto (to compare the two),
// in a session of its own over the lists of the first load.
func bench(_ js.Value, args []js.Value) any {
	if session == nil || len(args) < 3 {
		return promise(func() any { return -1 })
	}
	qr, now, n := []byte(args[0].String()), timeOf(args[1]), args[2].Int()
	goSigs := len(args) > 3 && args[3].String() == "go"
	return promise(func() any {
		s := session
		if goSigs {
			if goSession == nil {
				rev := loaded[2]
				if bytes.HasPrefix(bytes.TrimSpace(rev), []byte("{")) {
					rev = nil
				}
				gs, err := offline.NewSession(loaded[0], loaded[1], rev, now, offline.Options{})
				if err == nil && rev == nil {
					err = gs.UpdateRevocationBundle(loaded[2], now)
				}
				if err != nil {
					return -1
				}
				goSession = gs
			}
			s = goSession
		}
		if !s.Verify(qr, now).Valid {
			return -2
		}
		start := time.Now()
		for range n {
			s.Verify(qr, now)
		}
		return float64(time.Since(start).Microseconds()) / 1000 / float64(n)
	})
}

func main() {
	js.Global().Set("vaxcert", js.ValueOf(map[string]any{
		"load":        js.FuncOf(load),
		"loadRules":   js.FuncOf(loadRules),
		"verify":      js.FuncOf(verify),
		"info":        js.FuncOf(info),
		"revocations": js.FuncOf(revocations),
		"bench":       js.FuncOf(bench),
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("vaxcert-ready"))
	select {}
}
