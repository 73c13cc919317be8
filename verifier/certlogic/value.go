package certlogic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DateTime is a CertLogic date-time: an instant with millisecond precision,
// as produced by plusTime and dccDateOfBirth.
type DateTime struct {
	ms int64 // milliseconds since 1970-01-01T00:00:00Z
}

// Time returns d as a UTC time.Time.
func (d DateTime) Time() time.Time { return time.UnixMilli(d.ms).UTC() }

// String formats d like JavaScript's Date.toISOString.
func (d DateTime) String() string { return d.Time().Format("2006-01-02T15:04:05.000Z07:00") }

// MarshalJSON writes d as an ISO 8601 string, as JSON.stringify does.
func (d DateTime) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// NewDateTime returns t as a DateTime, truncated to the millisecond.
func NewDateTime(t time.Time) DateTime { return DateTime{ms: t.UnixMilli()} }

// boolsiness: 1 truthy, 0 falsy, -1 neither.
func boolsiness(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		if x == "" {
			return 0
		}
		return 1
	case float64:
		if x == 0 {
			return 0
		}
		if math.IsNaN(x) {
			return -1
		}
		return 1
	case []any:
		if len(x) == 0 {
			return 0
		}
		return 1
	case map[string]any:
		if len(x) == 0 {
			return 0
		}
		return 1
	case *Object:
		if len(x.Keys) == 0 {
			return 0
		}
		return 1
	case *reduceScope:
		return 1
	}
	return -1 // DateTime and anything else
}

// IsTruthy reports whether v is truthy in CertLogic's sense: true, a
// non-empty string, a non-zero number, a non-empty array or object.
func IsTruthy(v any) bool { return boolsiness(v) == 1 }

// IsFalsy reports whether v is falsy: false, null, "", 0, [] or {}. A value
// can be neither truthy nor falsy (a date-time, for example).
func IsFalsy(v any) bool { return boolsiness(v) == 0 }

// isInt reports whether v is an integer number (JavaScript's
// Number.isInteger).
func isInt(v any) (float64, bool) {
	f, ok := v.(float64)
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	return f, true
}

// equal is CertLogic's "===" (see the package doc).
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case DateTime:
		y, ok := b.(DateTime)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any, *Object, *reduceScope:
		xm, _ := asMap(x)
		ym, ok := asMap(b)
		if !ok || len(xm) != len(ym) {
			return false
		}
		for k, v := range xm {
			w, ok := ym[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// MaxJSON bounds the JSON text [FromJSON] and [Parse] accept.
const MaxJSON = 1 << 20

// ErrJSON is matched by errors from [FromJSON]: the text is not one JSON
// value, or is too large.
var ErrJSON = errors.New("certlogic: invalid JSON")

// FromJSON decodes one JSON value into the Go form this package evaluates
// (numbers become float64). Trailing data is an error.
func FromJSON(data []byte) (any, error) {
	if len(data) > MaxJSON {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrJSON, MaxJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrJSON)
	}
	return Normalize(v)
}

// Normalize converts a value decoded by encoding/json (with or without
// UseNumber) into this package's form: json.Number and the Go integer and
// float types become float64. Other types are an error.
func Normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, float64, DateTime, *Object:
		return x, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%w: bad number", ErrJSON)
		}
		return f, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unsupported Go type %T", ErrJSON, v)
}

// jsString renders v as JavaScript's String(v) would, for messages.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case float64:
		return jsNumber(x)
	case DateTime:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f != 0 && (math.Abs(f) >= 1e21 || math.Abs(f) < 1e-6):
		s := strconv.FormatFloat(f, 'e', -1, 64)
		return strings.Replace(s, "e+0", "e+", 1)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
