package server

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// wantControl checks that res refuses field for a control character: 400,
// code malformed, the field named with code control_character, no value
// echoed.
func wantControl(t *testing.T, what string, res *response, field string) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400: %s", what, res.status, res.body)
		return
	}
	ae := res.apiErr(t)
	if ae.Code != codeMalformed || !slices.Equal(ae.Fields, []fieldJSON{{Field: field, Code: codeControl}}) {
		t.Errorf("%s: error %+v, want field %q code %q", what, ae, field, codeControl)
	}
	if bytes.Contains(res.body, []byte(`\u0000`)) || bytes.Contains(res.body, []byte("evil")) {
		t.Errorf("%s: the error body echoes the value: %s", what, res.body)
	}
	noPersonalData(t, "error body", string(res.body))
}

// validCreds are the credentials that pass some route's access check.
var validCreds = []string{"", credUploader, credFinaliser, credReviewer, credAdmin, credCitizenA}

// TestControlCharactersInParams: on every registered route, a path or
// query parameter holding NUL, ESC, a C1 control or invalid UTF-8 gets a
// 400 naming the parameter (for a caller the route admits; others get 401
// or 403), never a 500 (PostgreSQL refuses NUL with SQLSTATE 22021).
func TestControlCharactersInParams(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.seed()
		routes := e.srv.e.Routes()
		sort.Slice(routes, func(i, j int) bool { return routes[i].Method+routes[i].Path < routes[j].Method+routes[j].Path })
		n := 0
		for _, r := range routes {
			if r.Method == echo.RouteNotFound {
				continue
			}
			segs := strings.Split(r.Path, "/")
			build := func(param, value string) string {
				out := slices.Clone(segs)
				for i, s := range out {
					if strings.HasPrefix(s, ":") {
						out[i] = "1"
						if s[1:] == param {
							out[i] = value
						}
					}
				}
				return strings.Join(out, "/")
			}
			type probe struct{ path, field string }
			var probes []probe
			for i, bad := range []string{"%00", "%1B%5B2J", "%C2%85", "%FF"} {
				probes = append(probes, probe{build("", "") + "?limit=5&p" + strconv.Itoa(i) + "=evil" + bad,
					"p" + strconv.Itoa(i)})
			}
			probes = append(probes, probe{build("", "") + "?a%00b=1", "query"})
			for _, s := range segs {
				if strings.HasPrefix(s, ":") {
					probes = append(probes, probe{build(s[1:], "evil%00x"), s[1:]})
				}
			}
			for _, p := range probes {
				n++
				refused := false
				for _, cred := range validCreds {
					res := e.do(req{method: r.Method, path: p.path, cred: cred})
					switch res.status {
					case http.StatusUnauthorized, http.StatusForbidden:
					default:
						wantControl(t, r.Method+" "+p.path+" as "+strconv.Quote(cred), res, p.field)
						refused = true
					}
				}
				if !refused {
					t.Errorf("%s %s: no credential reached the parameter check", r.Method, p.path)
				}
			}
		}
		if n < 60 {
			t.Errorf("only %d parameter probes", n)
		}
	})
}

// jsonStringPaths returns the path of every string in a JSON document, in
// the field-naming form of the error body ("doses[0].lot").
func jsonStringPaths(v any, prefix string) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = append(out, prefix)
	case []any:
		for i, e := range v {
			out = append(out, jsonStringPaths(e, prefix+"["+strconv.Itoa(i)+"]")...)
		}
	case map[string]any:
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, jsonStringPaths(e, p)...)
		}
	}
	return out
}

// setJSONString replaces the string at path in v (as jsonStringPaths
// names it) by s.
func setJSONString(v any, path, s string, prefix string) any {
	switch x := v.(type) {
	case string:
		if prefix == path {
			return s
		}
	case []any:
		for i, e := range x {
			x[i] = setJSONString(e, path, s, prefix+"["+strconv.Itoa(i)+"]")
		}
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			x[k] = setJSONString(e, path, s, p)
		}
	}
	return v
}

// TestControlCharactersInJSON: every string field of the JSON body of every
// route that takes one (the valid requests of TestAccess), given a control
// character, gets a 400 naming the field; line breaks are accepted in
// free text only.
func TestControlCharactersInJSON(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		f := e.seed()
		cases := append(slices.Clone(accessCases), accessCase{method: "POST", path: static("/v1/verify"),
			body: jsonOf(`{"qr":"HC1:NCF"}`), public: true},
			accessCase{method: "PUT", path: static("/v1/sites/HN-001/permissions"),
				body: jsonOf(`{"finalise_at_source":true}`), allowed: []string{credAdmin}},
			// No body: its parameter is probed by TestControlCharactersInParams.
			accessCase{method: "POST", path: static("/v1/issuance-jobs/j1/workers"), allowed: []string{credFinaliser}})
		n := 0
		for _, tc := range cases {
			if tc.body == nil {
				continue
			}
			ct, body := tc.body(f)
			if ct != "application/json" {
				continue
			}
			cred := ""
			if !tc.public {
				cred = tc.allowed[0]
			}
			var doc any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatal(err)
			}
			// A key with a control character: the body itself is named.
			keyed := strings.Replace(body, "{", `{"k\u0000":1,`, 1)
			res := e.do(req{method: tc.method, path: tc.path(f), cred: cred, body: strings.NewReader(keyed)})
			wantControl(t, tc.method+" "+tc.path(f)+" bad key", res, "body")
			n++
			for _, path := range jsonStringPaths(doc, "") {
				for _, bad := range []string{"evil\x00", "\x1b[2Jevil", "evil\u0085", "evil\x7f", "evil\n"} {
					var d any
					json.Unmarshal([]byte(body), &d)
					b, _ := json.Marshal(setJSONString(d, path, bad, ""))
					res := e.do(req{method: tc.method, path: tc.path(f), cred: cred, body: bytes.NewReader(b)})
					name := tc.method + " " + tc.path(f) + " " + path + "=" + strconv.Quote(bad)
					if bad == "evil\n" && freeText(path[strings.LastIndex(path, ".")+1:]) {
						if res.status == http.StatusBadRequest {
							t.Errorf("%s: a line break in free text refused: %s", name, res.body)
						}
						continue
					}
					n++
					wantControl(t, name, res, path)
				}
			}
		}
		if n < 150 {
			t.Errorf("only %d JSON probes", n)
		}
		// Every route that takes a body is probed: a new one needs its
		// valid request in accessCases.
		probed := map[string]bool{}
		for _, tc := range cases {
			hr := httptest.NewRequest(tc.method, tc.path(f), nil)
			c := e.srv.e.NewContext(hr, nil)
			e.srv.e.Router().Find(tc.method, hr.URL.EscapedPath(), c)
			probed[tc.method+" "+c.Path()] = true
		}
		for _, r := range e.srv.e.Routes() {
			if (r.Method == http.MethodPost || r.Method == http.MethodPut) && !probed[r.Method+" "+r.Path] {
				t.Errorf("%s %s may take a body but has no case: add its valid request to accessCases "+
					"(access_test.go), or to the cases here when it takes none", r.Method, r.Path)
			}
		}

		// The multipart form of a correction request, and the text form
		// of a verify request.
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		part, _ := w.CreateFormField(partRequest)
		part.Write([]byte(`{"kind":"missing","description":"evil\u0000"}`))
		w.Close()
		res := e.do(req{method: "POST", path: "/v1/me/corrections", cred: credCitizenA,
			contentType: w.FormDataContentType(), body: &mp})
		wantControl(t, "multipart correction", res, "description")
		res = e.do(req{method: "POST", path: "/v1/verify", contentType: "text/plain", body: strings.NewReader("HC1:\x00evil\n")})
		wantControl(t, "text verify", res, "qr")
	})
}

// TestControlCharactersInBatch: a bulk-upload row whose text field holds a
// control character is rejected, naming the field, and not stored; the
// other rows are stored. On PostgreSQL such a row used to fail the whole
// upload (SQLSTATE 22021); SQLite stored it.
func TestControlCharactersInBatch(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cols := service.CSVColumns
		good := map[string]string{"person_id": citizenB, "family_name": family, "given_name": given,
			"birth_date": birthDate, "site": "HN-001", "product": "EU/1/20/1528", "manufacturer": "ORG-100030215",
			"lot": "X1", "dose_number": "1", "series_doses": "2", "date": "2021-05-01", "country": "VN", "status": "draft"}
		fieldOf := map[string]string{"person_id": "person.id", "family_name": "person.family_name",
			"given_name": "person.given_name", "birth_date": "person.birth_date"}
		var csv strings.Builder
		csv.WriteString(strings.Join(cols, ",") + "\n")
		var want []string
		row := 1
		for _, col := range cols {
			if col == "dose_number" || col == "series_doses" {
				continue // numbers: a control character is a malformed number
			}
			for _, bad := range []string{"\x00", "\x1b", "\u0085", "\x7f"} {
				row++
				var fields []string
				for _, c := range cols {
					v := good[c]
					if c == "record_id" {
						v = "ctl-" + strconv.Itoa(row)
					}
					if c == col {
						v = "a" + bad + "b"
					}
					fields = append(fields, v)
				}
				csv.WriteString(strings.Join(fields, ",") + "\n")
				field := col
				if f, ok := fieldOf[col]; ok {
					field = f
				}
				w := strconv.Itoa(row) + " rejected " + field + "=control_character"
				if col == "site" {
					w += " site=forbidden" // not the uploader's site either
				}
				want = append(want, w)
			}
		}
		row++
		csv.WriteString(citizenB + "," + family + "," + given + "," + birthDate +
			",ok-1,HN-001,EU/1/20/1528,ORG-100030215,X1,1,2,2021-05-01,VN,draft\n")
		want = append(want, strconv.Itoa(row)+" stored")

		bad := record(citizenB, dose("HN-001", "nd-1", 1, issuer.StatusDraft))
		bad.Person.GivenName = "Văn\x00"
		bad.Doses[0].Lot = "L\u009b1"
		ndjson := ndjsonLine(t, bad) + ndjsonLine(t, record(citizenB, dose("HN-001", "nd-2", 2, issuer.StatusDraft)))
		for _, tc := range []struct {
			name, contentType, body string
			want                    []string
		}{
			{"csv", "text/csv", csv.String(), want},
			{"ndjson", "application/x-ndjson", ndjson,
				[]string{"1 rejected person.given_name=control_character doses[0].lot=control_character", "2 stored"}},
		} {
			res := e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader,
				contentType: tc.contentType, body: strings.NewReader(tc.body)})
			if res.status != http.StatusOK {
				t.Fatalf("%s upload: %d %s", tc.name, res.status, res.body)
			}
			noPersonalData(t, "upload report", strings.ReplaceAll(string(res.body), citizenB, ""))
			var got []string
			for _, r := range parseReport(t, res.body).rows {
				got = append(got, rowView(r))
			}
			if len(got) != len(tc.want) {
				t.Errorf("%s: %d rows, want %d: %q", tc.name, len(got), len(tc.want), got)
			}
			for i := range min(len(got), len(tc.want)) {
				if got[i] != tc.want[i] {
					t.Errorf("%s: row %q, want %q", tc.name, got[i], tc.want[i])
				}
			}
		}
		for _, id := range []string{"ctl-2", "nd-1"} {
			e.call("GET", "/v1/dose-records/HN-001/"+url.PathEscape(id)+"/history", credUploader, nil, http.StatusNotFound)
		}
	})
}
