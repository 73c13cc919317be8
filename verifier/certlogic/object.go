package certlogic

import (
	"bytes"
	"encoding/json"
)

// Object is a JSON object whose members are kept in two parallel slices: a
// lighter form than map[string]any for the small objects a caller builds
// from typed data (a DCC vaccination entry has ten members), looked up
// without hashing. Keys must be distinct and len(Keys) == len(Values).
// CertLogic treats it exactly as the equivalent map[string]any. Do not
// modify an Object once it is in use.
type Object struct {
	Keys   []string
	Values []any
}

// Get returns the member k.
func (o *Object) Get(k string) (any, bool) {
	for i, key := range o.Keys {
		if key == k {
			return o.Values[i], true
		}
	}
	return nil, false
}

// Map returns o as a map[string]any (members that are Objects stay
// Objects).
func (o *Object) Map() map[string]any {
	m := make(map[string]any, len(o.Keys))
	for i, k := range o.Keys {
		m[k] = o.Values[i]
	}
	return m
}

// MarshalJSON writes o as a JSON object, members in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vj, err := json.Marshal(o.Values[i])
		if err != nil {
			return nil, err
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// asMap returns v as a map when it is a JSON object in any of its forms.
func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case *Object:
		return x.Map(), true
	case *reduceScope:
		return x.object(), true
	}
	return nil, false
}
