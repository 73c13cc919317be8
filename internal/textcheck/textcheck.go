// Package textcheck refuses text that no person typed into a form: invalid
// UTF-8 and control characters (Unicode category Cc: U+0000–U+001F, U+007F,
// U+0080–U+009F). PostgreSQL refuses NUL and invalid UTF-8 in text columns
// (SQLSTATE 22021) while SQLite stores them, and control characters in names
// or identifiers reach logs, terminals and PDFs. The service checks every
// text field and identifier at its edge (path and query parameters, JSON
// bodies, bulk-upload rows) with this package, on both engines alike.
//
// The JSON walk is hand-written on encoding/json's tokenizer because it
// must name the offending field (never its value) for any request shape,
// which a decoder into typed values cannot do.
package textcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// ErrControl reports a control character or invalid UTF-8 in a text field.
var ErrControl = errors.New("textcheck: control character or invalid UTF-8 in text")

// Valid reports whether s is valid UTF-8 without control characters.
func Valid(s string) bool { return valid(s, false) }

// ValidBytes is Valid for a byte slice, without copying it into a string
// (the QR text of every venue check passes here). b is only read, and not
// kept.
func ValidBytes(b []byte) bool {
	return len(b) == 0 || valid(unsafe.String(unsafe.SliceData(b), len(b)), false)
}

// ValidMultiline is Valid, except that tab, line feed and carriage return
// are allowed: the line breaks of free text (a description, a reason).
func ValidMultiline(s string) bool { return valid(s, true) }

func valid(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 || b == 0x7f {
				if !multiline || (b != '\t' && b != '\n' && b != '\r') {
					return false
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			return false
		}
		i += n
	}
	return true
}

// JSON returns the path of the first string in the JSON document body that
// is not [Valid] ("person.family_name", "doses[1].lot"; "" for the document
// itself), and whether there is one. Strings under an object key for which
// multiline returns true may hold line breaks ([ValidMultiline]). A bad
// object key is reported at the path of its object. A document that is not
// valid JSON is not this function's concern: it reports what it read
// before the syntax error, and the strict decoder refuses the rest.
//
// encoding/json replaces invalid UTF-8 with U+FFFD and refuses raw control
// bytes in strings, so a control character can only arrive escaped ("\u0000",
// "\n") or as a raw DEL or C1 character; a body without a backslash, DEL or
// C1 byte sequence is accepted without tokenizing it.
func JSON(body []byte, multiline func(key string) bool) (field string, bad bool) {
	if !mayHoldControl(body) {
		return "", false
	}
	type frame struct {
		object    bool
		expectKey bool
		key       string
		index     int
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if f.expectKey {
					break // reporting the object itself
				}
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].expectKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				if !Valid(t) {
					return path(), true
				}
				stack[n-1].key, stack[n-1].expectKey = t, false
				continue
			}
			ok := Valid(t)
			if !ok && multiline != nil {
				if n := len(stack); n > 0 && stack[n-1].object && multiline(stack[n-1].key) {
					ok = ValidMultiline(t)
				}
			}
			if !ok {
				return path(), true
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// mayHoldControl reports whether body has a backslash, a DEL or the UTF-8
// encoding of a C1 control character (0xC2 0x80–0x9F).
func mayHoldControl(body []byte) bool {
	for i, b := range body {
		switch {
		case b == '\\', b == 0x7f:
			return true
		case b == 0xc2 && i+1 < len(body) && body[i+1] >= 0x80 && body[i+1] <= 0x9f:
			return true
		}
	}
	return false
}
