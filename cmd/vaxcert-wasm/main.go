//go:build js && wasm

// Command vaxcert-wasm is the offline verifier of the scan page, compiled
// to WebAssembly (make wasm). It registers a global object vaxcert with:
//
//	vaxcert.load(root, trustList, revocations, nowMillis) → "" or an error message
//	vaxcert.verify(qrText, nowMillis)                     → the venue answer as JSON text
//	vaxcert.bench(qrText, nowMillis, n)                   → milliseconds per verify over n runs
//
// root, trustList and revocations are strings or Uint8Arrays. verify
// answers what the verifier service's POST /v1/verify answers, built by
// the same code (package verifier/offline).
package main

import (
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/vaxcert/vaxcert/verifier/offline"
)

var session *offline.Session

func bytesOf(v js.Value) []byte {
	switch v.Type() {
	case js.TypeString:
		return []byte(v.String())
	case js.TypeObject:
		b := make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(b, v)
		return b
	}
	return nil
}

func timeOf(v js.Value) time.Time { return time.UnixMilli(int64(v.Float())) }

func load(_ js.Value, args []js.Value) any {
	if len(args) != 4 {
		return "load: want root, trustList, revocations, nowMillis"
	}
	now := timeOf(args[3])
	var err error
	if session == nil {
		session, err = offline.NewSession(bytesOf(args[0]), bytesOf(args[1]), bytesOf(args[2]), now, offline.Options{})
	} else {
		err = session.Update(bytesOf(args[1]), bytesOf(args[2]), now)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func verify(_ js.Value, args []js.Value) any {
	if session == nil || len(args) != 2 {
		return `{"error":"not loaded"}`
	}
	b, err := json.Marshal(session.Verify([]byte(args[0].String()), timeOf(args[1])))
	if err != nil {
		return `{"error":"encoding"}`
	}
	return string(b)
}

func bench(_ js.Value, args []js.Value) any {
	if session == nil || len(args) != 3 {
		return -1
	}
	qr, now, n := []byte(args[0].String()), timeOf(args[1]), args[2].Int()
	start := time.Now()
	for range n {
		session.Verify(qr, now)
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(n)
}

func main() {
	js.Global().Set("vaxcert", js.ValueOf(map[string]any{
		"load":   js.FuncOf(load),
		"verify": js.FuncOf(verify),
		"bench":  js.FuncOf(bench),
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("vaxcert-ready"))
	select {}
}
