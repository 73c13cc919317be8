package service

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/issuer"
)

// Format is a bulk-upload format.
type Format string

// Bulk-upload formats.
const (
	// FormatNDJSON: one dose-record document ([issuer.Record]) per line.
	FormatNDJSON Format = "ndjson"
	// FormatCSV: a header line naming the columns of [CSVColumns] (in any
	// order), then one dose per line. Fields may be quoted as in RFC 4180
	// but may not span lines.
	FormatCSV Format = "csv"
)

// CSVColumns are the columns of a CSV upload.
var CSVColumns = []string{"person_id", "family_name", "given_name", "birth_date", "record_id", "site", "product",
	"manufacturer", "lot", "dose_number", "series_doses", "date", "country", "status"}

// item is one uploaded dose, or a row that could not be parsed (errs set,
// no dose).
type item struct {
	row    int
	idx    int // the dose's place in its row
	hash   string
	prefix string // field-name prefix of the dose's fields: "doses[i]." (NDJSON)
	person issuer.Person
	dose   issuer.Dose
	errs   []*issuer.FieldError
}

func (it *item) reject(field string, err error) {
	if field != "" && !strings.HasPrefix(field, "person.") && field != "record" {
		field = it.prefix + field
	}
	it.errs = append(it.errs, &issuer.FieldError{Field: field, Err: err})
}

// lineReader reads bounded lines, counting them.
type lineReader struct {
	br   *bufio.Reader
	max  int
	line int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, max+2), max: max}
}

// next returns the next line without its line ending (valid until the next
// call), or tooLong for a line over the limit (skipped), or io.EOF.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	line, err = l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		l.line++
		return nil, true, nil
	}
	if err == io.EOF && len(line) == 0 {
		return nil, false, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	l.line++
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) > l.max {
		return nil, true, nil
	}
	return line, false, nil
}

// rowSource yields the items of one upload row at a time.
type rowSource interface {
	// next returns the items of the next non-blank row, or io.EOF.
	next() ([]item, error)
}

type ndjsonSource struct{ lr *lineReader }

func (s *ndjsonSource) next() ([]item, error) {
	for {
		line, tooLong, err := s.lr.next()
		if err != nil {
			return nil, err
		}
		it := item{row: s.lr.line}
		if tooLong {
			it.reject("line", ErrLineTooLong)
			return []item{it}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := decodeRecord(line)
		switch {
		case err != nil:
			it.reject("line", ErrMalformed)
			return []item{it}, nil
		case len(rec.Doses) == 0:
			it.reject("doses", issuer.ErrMissing)
			return []item{it}, nil
		case len(rec.Doses) > limits.MaxDosesPerPerson:
			it.reject("doses", issuer.ErrInvalid)
			return []item{it}, nil
		}
		return recordItems(rec, s.lr.line), nil
	}
}

// recordItems splits a dose-record document into one item per dose.
func recordItems(rec issuer.Record, row int) []item {
	items := make([]item, len(rec.Doses))
	for i, d := range rec.Doses {
		items[i] = item{row: row, idx: i, prefix: "doses[" + strconv.Itoa(i) + "].", person: rec.Person, dose: d}
	}
	return items
}

// decodeRecord decodes one dose-record document strictly: no unknown
// fields, nothing after the object.
func decodeRecord(b []byte) (issuer.Record, error) {
	var rec issuer.Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rec, ErrMalformed
	}
	return rec, nil
}

type csvSource struct {
	lr  *lineReader
	col [14]int // index in a row of each of CSVColumns
}

// newCSVSource reads and checks the header line.
func newCSVSource(lr *lineReader) (*csvSource, error) {
	line, tooLong, err := lr.next()
	if err == io.EOF || tooLong {
		return nil, invalid("header", ErrMalformed)
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	names, ok := splitCSV(string(line), nil)
	if !ok || len(names) != len(CSVColumns) {
		return nil, invalid("header", ErrMalformed)
	}
	s := &csvSource{lr: lr}
	for i, want := range CSVColumns {
		s.col[i] = -1
		for j, n := range names {
			if strings.TrimSpace(n) == want {
				if s.col[i] >= 0 {
					return nil, invalid("header", ErrMalformed)
				}
				s.col[i] = j
			}
		}
		if s.col[i] < 0 {
			return nil, invalid("header", ErrMalformed)
		}
	}
	return s, nil
}

func (s *csvSource) next() ([]item, error) {
	var fields []string
	for {
		line, tooLong, err := s.lr.next()
		if err != nil {
			return nil, err
		}
		it := item{row: s.lr.line}
		if tooLong {
			it.reject("line", ErrLineTooLong)
			return []item{it}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ok bool
		fields, ok = splitCSV(string(line), fields[:0])
		if !ok || len(fields) != len(CSVColumns) {
			it.reject("line", ErrMalformed)
			return []item{it}, nil
		}
		f := func(i int) string { return fields[s.col[i]] }
		it.person = issuer.Person{ID: f(0), FamilyName: f(1), GivenName: f(2), BirthDate: f(3)}
		it.dose = issuer.Dose{RecordID: f(4), Site: f(5), Product: f(6), Manufacturer: f(7), Lot: f(8),
			Date: f(11), Country: f(12), Status: f(13)}
		for _, n := range []struct {
			col   int
			field string
			dst   *int
		}{{9, "dose_number", &it.dose.DoseNumber}, {10, "series_doses", &it.dose.SeriesDoses}} {
			if v := f(n.col); v != "" {
				x, err := strconv.Atoi(v)
				if err != nil {
					it.reject(n.field, issuer.ErrInvalid)
				}
				*n.dst = x
			}
		}
		return []item{it}, nil
	}
}

// splitCSV splits one CSV line (RFC 4180 quoting, no line breaks inside
// fields), appending to dst. ok is false for malformed quoting or invalid
// UTF-8.
func splitCSV(line string, dst []string) (fields []string, ok bool) {
	if !utf8.ValidString(line) {
		return dst, false
	}
	for {
		if !strings.HasPrefix(line, `"`) {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				if strings.Contains(line, `"`) {
					return dst, false
				}
				return append(dst, line), true
			}
			if strings.Contains(line[:i], `"`) {
				return dst, false
			}
			dst, line = append(dst, line[:i]), line[i+1:]
			continue
		}
		var b strings.Builder
		line = line[1:]
		for {
			i := strings.IndexByte(line, '"')
			if i < 0 {
				return dst, false
			}
			b.WriteString(line[:i])
			line = line[i+1:]
			if strings.HasPrefix(line, `"`) {
				b.WriteByte('"')
				line = line[1:]
				continue
			}
			break
		}
		dst = append(dst, b.String())
		switch {
		case line == "":
			return dst, true
		case line[0] != ',':
			return dst, false
		}
		line = line[1:]
	}
}
