package server

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

func outcomes(rows []rowJSON) []service.Outcome {
	out := make([]service.Outcome, len(rows))
	for i, r := range rows {
		out[i] = r.Outcome
	}
	return out
}

func sameOutcomes(got []service.Outcome, want ...service.Outcome) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestHappyPath: an uploader uploads drafts, a finaliser finalises them
// and issues, the citizen lists the certificate and downloads it as JSON
// (the HC1 verifies), PNG (decodes; the second download comes from the
// cache) and PDF.
func TestHappyPath(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		rec := record(citizenA, dose("HN-001", "r1", 1, issuer.StatusDraft), dose("HN-001", "r2", 2, issuer.StatusDraft))
		var up struct{ Results []rowJSON }
		e.call("POST", "/v1/dose-records", credUploader, rec, http.StatusCreated).json(t, &up)
		if got := outcomes(up.Results); !sameOutcomes(got, service.OutcomeStored, service.OutcomeStored) {
			t.Fatalf("upload outcomes %v", got)
		}
		e.call("POST", "/v1/dose-records", credUploader, rec, http.StatusOK).json(t, &up)
		if got := outcomes(up.Results); !sameOutcomes(got, service.OutcomeDuplicate, service.OutcomeDuplicate) {
			t.Fatalf("re-upload outcomes %v", got)
		}

		var fin struct{ Results []finaliseJSON }
		e.call("POST", "/v1/dose-records/finalise", credFinaliser, map[string]any{"records": []recordKeyJSON{
			{Site: "HN-001", RecordID: "r1"}, {Site: "HN-001", RecordID: "r2"}, {Site: "HN-001", RecordID: "nope"}}},
			http.StatusOK).json(t, &fin)
		if len(fin.Results) != 3 || fin.Results[0].Outcome != service.OutcomeFinalised ||
			fin.Results[1].Outcome != service.OutcomeFinalised || fin.Results[2].Outcome != service.OutcomeRejected ||
			fin.Results[2].Code != codeNotFound {
			t.Fatalf("finalise results %+v", fin.Results)
		}

		var issued, again certificateJSON
		e.call("POST", "/v1/persons/issue", credFinaliser, map[string]string{"national_id": citizenA},
			http.StatusOK).json(t, &issued)
		e.call("POST", "/v1/persons/issue", credFinaliser, map[string]string{"national_id": citizenA},
			http.StatusOK).json(t, &again)
		if issued.UVCI == "" || issued.Status != "current" || issued.HC1 != "" || again.UVCI != issued.UVCI ||
			!again.IssuedAt.Equal(issued.IssuedAt) {
			t.Fatalf("issue: %+v, then %+v", issued, again)
		}

		var list struct{ Certificates []certificateJSON }
		e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusOK).json(t, &list)
		if len(list.Certificates) != 1 || list.Certificates[0].UVCI != issued.UVCI || list.Certificates[0].HC1 != "" {
			t.Fatalf("list %+v", list)
		}
		links := list.Certificates[0].Links
		if u, err := url.PathUnescape(strings.TrimPrefix(links.Self, "/v1/me/certificates/")); err != nil ||
			u != issued.UVCI || strings.ContainsAny(strings.TrimPrefix(links.Self, "/v1/me/certificates/"), "/#") {
			t.Errorf("self link %q does not escape the uvci", links.Self)
		}

		var cert certificateJSON
		e.call("GET", links.Self, credCitizenA, nil, http.StatusOK).json(t, &cert)
		if cert.UVCI != issued.UVCI || cert.Payload == nil || cert.Payload.V[0].CI != issued.UVCI ||
			cert.Payload.V[0].DN != 2 {
			t.Fatalf("certificate %+v", cert)
		}
		v, err := verifier.New(e.pki.Trust)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify([]byte(cert.HC1), testkit.Now); err != nil {
			t.Fatalf("the served HC1 does not verify: %v", err)
		}
		// Every percent-encoding of the UVCI names the same certificate.
		full := strings.NewReplacer(":", "%3A", "/", "%2F", "#", "%23").Replace(issued.UVCI)
		e.call("GET", "/v1/me/certificates/"+full, credCitizenA, nil, http.StatusOK)
		// An unescaped "#" starts the fragment: no such certificate.
		if res := e.call("GET", "/v1/me/certificates/"+issued.UVCI, credCitizenA, nil, http.StatusNotFound); res.apiErr(t).Code != codeNotFound {
			t.Errorf("unescaped uvci: %s", res.body)
		}

		for i := range 2 {
			res := e.call("GET", links.PNG, credCitizenA, nil, http.StatusOK)
			if _, err := png.Decode(bytes.NewReader(res.body)); err != nil {
				t.Fatalf("png: %v", err)
			}
			if ct, cc := res.header.Get("Content-Type"), res.header.Get("Cache-Control"); ct != "image/png" ||
				!strings.HasPrefix(cc, "private") {
				t.Errorf("png headers %q %q", ct, cc)
			}
			if n := e.renders.Load(); n != 1 {
				t.Errorf("after download %d: %d QR renderings, want 1", i+1, n)
			}
		}
		res := e.call("GET", links.PDF, credCitizenA, nil, http.StatusOK)
		if !bytes.HasPrefix(res.body, []byte("%PDF-")) || res.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("pdf: %q, headers %v", res.body[:min(8, len(res.body))], res.header)
		}

		logs := e.logs.String()
		for _, secret := range []string{issued.UVCI, url.PathEscape(issued.UVCI), e.creds[credUploader],
			e.creds[credCitizenA], "r1"} {
			if strings.Contains(logs, secret) {
				t.Errorf("log contains %q", secret)
			}
		}
		if !strings.Contains(logs, `"route":"/v1/me/certificates/:uvci.png"`) {
			t.Errorf("log lacks the png route template")
		}
	})
}

// TestErrors checks the status, code and fields of typical failures.
func TestErrors(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised)))
		badProduct := record(citizenA, dose("HN-001", "r9", 1, issuer.StatusDraft))
		badProduct.Doses[0].Product = "EU/1/99/9999"
		tests := []struct {
			name        string
			r           req
			status      int
			code        string
			fields      []fieldJSON
			retryHeader bool
		}{
			{name: "wrong content type", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				contentType: "text/plain", body: strings.NewReader("{}")}, status: 415, code: codeMediaType},
			{name: "malformed json", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: strings.NewReader(`{"person":`)}, status: 400, code: codeMalformed},
			{name: "unknown field", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: strings.NewReader(`{"persona":{}}`)}, status: 400, code: codeMalformed},
			{name: "wrong json type", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: strings.NewReader(`{"doses":[{"dose_number":"one"}]}`)}, status: 400, code: codeMalformed,
				fields: []fieldJSON{{Field: "doses.dose_number", Code: "type"}}},
			{name: "trailing data", r: req{method: "POST", path: "/v1/tokens", cred: credAdmin,
				body: strings.NewReader(`{"role":"admin","name":"x"} {}`)}, status: 400, code: codeMalformed},
			{name: "value set", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: jsonBody(t, badProduct)}, status: 422, code: codeInvalid,
				fields: []fieldJSON{{Field: "doses[0].product", Code: "value_set"}}},
			{name: "immutable", r: req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: jsonBody(t, record(citizenA, func() issuer.Dose {
					d := dose("HN-001", "r1", 1, issuer.StatusFinalised)
					d.Lot = "CHANGED"
					return d
				}()))}, status: 422, code: codeInvalid, fields: []fieldJSON{{Field: "record_id", Code: "immutable"}}},
			{name: "amend without reason", r: req{method: "POST", path: "/v1/dose-records/HN-001/r1/amend",
				cred: credFinaliser, body: jsonBody(t, map[string]any{"dose": dose("", "", 1, "")})}, status: 422,
				code: codeInvalid, fields: []fieldJSON{{Field: "reason", Code: "missing"}}},
			{name: "unknown record", r: req{method: "POST", path: "/v1/dose-records/HN-001/nope/finalise",
				cred: credFinaliser}, status: 404, code: codeNotFound},
			{name: "unknown person", r: req{method: "POST", path: "/v1/persons/issue", cred: credFinaliser,
				body: jsonBody(t, map[string]string{"national_id": citizenB})}, status: 404, code: codeNotFound},
			{name: "missing national id", r: req{method: "POST", path: "/v1/persons/issue", cred: credFinaliser,
				body: strings.NewReader(`{}`)}, status: 422, code: codeInvalid,
				fields: []fieldJSON{{Field: "national_id", Code: "missing"}}},
			{name: "bad page", r: req{method: "GET", path: "/v1/audit?limit=0&after=x", cred: credAdmin}, status: 400,
				code: codeInvalid, fields: []fieldJSON{{Field: "after", Code: "invalid"}, {Field: "limit", Code: "invalid"}}},
			{name: "bad since", r: req{method: "GET", path: "/v1/revocations?since=-1"}, status: 400,
				code: codeInvalid, fields: []fieldJSON{{Field: "since", Code: "invalid"}}},
			{name: "bad correction status", r: req{method: "GET", path: "/v1/corrections?status=maybe",
				cred: credReviewer}, status: 400, code: codeInvalid, fields: []fieldJSON{{Field: "status", Code: "invalid"}}},
			{name: "unknown job", r: req{method: "GET", path: "/v1/issuance-jobs/nope", cred: credFinaliser},
				status: 404, code: codeNotFound},
			{name: "no route", r: req{method: "GET", path: "/v1/nothing"}, status: 404, code: codeNotFound},
			{name: "method", r: req{method: "PUT", path: "/v1/dose-records", cred: credUploader}, status: 405,
				code: codeMethod},
			{name: "decision without accept", r: req{method: "POST", path: "/v1/corrections/1/decision",
				cred: credReviewer, body: strings.NewReader(`{"reason":"x"}`)}, status: 422, code: codeInvalid,
				fields: []fieldJSON{{Field: "accept", Code: "missing"}}},
			{name: "correction without request part", r: req{method: "POST", path: "/v1/me/corrections",
				cred: credCitizenA, contentType: "multipart/form-data; boundary=b",
				body: strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nx\r\n--b--\r\n")},
				status: 422, code: codeInvalid, fields: []fieldJSON{{Field: "request", Code: "missing"}}},
			{name: "correction with unknown part", r: req{method: "POST", path: "/v1/me/corrections",
				cred: credCitizenA, contentType: "multipart/form-data; boundary=b",
				body: strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nx\r\n--b--\r\n")},
				status: 400, code: codeMalformed},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				res := e.do(tc.r)
				if res.status != tc.status {
					t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
				}
				ae := res.apiErr(t)
				if ae.Code != tc.code || ae.Message == "" || !equalFields(ae.Fields, tc.fields) {
					t.Errorf("error %+v, want code %q fields %v", ae, tc.code, tc.fields)
				}
				if res.header.Get("X-Request-Id") == "" || res.header.Get("Cache-Control") != "no-store" {
					t.Errorf("headers %v", res.header)
				}
				noPersonalData(t, "error body", string(res.body))
			})
		}
	})
}

func equalFields(got, want []fieldJSON) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestCorrectionFlow: a citizen files a correction with a photo
// (multipart); a reviewer reads it and its photo and accepts it, which
// amends the record and re-issues the certificate; the old UVCI is in the
// revocation list.
func TestCorrectionFlow(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		first := dose("HN-001", "r1", 1, issuer.StatusFinalised)
		first.Lot = "LOT22" // its UVCI ends in "/": see the %2F round trip below
		e.submit(record(citizenA, first))
		old := e.issue(citizenA)
		photo := testPNG(t)

		var body bytes.Buffer
		body.WriteString("--b\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n")
		body.WriteString(`{"kind":"wrong","description":"my card says 15 January","record":{"site":"HN-001","record_id":"r1"},` +
			`"dose":{"date":"2021-01-15"}}`)
		body.WriteString("\r\n--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"card.png\"\r\n" +
			"Content-Type: image/png\r\n\r\n")
		body.Write(photo)
		body.WriteString("\r\n--b--\r\n")
		res := e.do(req{method: "POST", path: "/v1/me/corrections", cred: credCitizenA,
			contentType: "multipart/form-data; boundary=b", body: &body})
		if res.status != http.StatusCreated {
			t.Fatalf("file: %d %s", res.status, res.body)
		}
		var cr correctionJSON
		res.json(t, &cr)
		if !cr.HasPhoto || cr.Status != service.CorrectionOpen || cr.Person != 0 || cr.Record == nil {
			t.Fatalf("filed %+v", cr)
		}

		var mine struct{ Corrections []correctionJSON }
		e.call("GET", "/v1/me/corrections", credCitizenA, nil, http.StatusOK).json(t, &mine)
		if len(mine.Corrections) != 1 || mine.Corrections[0].ID != cr.ID {
			t.Fatalf("my corrections %+v", mine)
		}
		var others struct{ Corrections []correctionJSON }
		e.call("GET", "/v1/me/corrections", credCitizenB, nil, http.StatusOK).json(t, &others)
		if len(others.Corrections) != 0 {
			t.Fatalf("citizen B sees %+v", others)
		}

		var open struct{ Corrections []correctionJSON }
		e.call("GET", "/v1/corrections?status=open", credReviewer, nil, http.StatusOK).json(t, &open)
		if len(open.Corrections) != 1 || open.Corrections[0].Person == 0 {
			t.Fatalf("open corrections %+v", open)
		}
		id := "/v1/corrections/" + strconv.FormatInt(cr.ID, 10)
		got := e.call("GET", id+"/photo", credReviewer, nil, http.StatusOK)
		if !bytes.Equal(got.body, photo) || got.header.Get("Content-Type") != "image/png" {
			t.Fatalf("photo: %d bytes, %q", len(got.body), got.header.Get("Content-Type"))
		}

		amendment := dose("HN-001", "r1", 1, "")
		amendment.Date = "2021-01-15"
		var decided struct {
			Correction  correctionJSON
			Certificate *certificateJSON
		}
		e.call("POST", id+"/decision", credReviewer, map[string]any{"accept": true, "reason": "photo matches",
			"amendment": amendment}, http.StatusOK).json(t, &decided)
		if decided.Correction.Status != service.CorrectionAccepted || decided.Certificate == nil ||
			decided.Certificate.UVCI == old.UVCI {
			t.Fatalf("decision %+v, certificate %+v", decided, decided.Certificate)
		}
		e.call("POST", id+"/decision", credReviewer, map[string]any{"accept": false, "reason": "again"},
			http.StatusConflict)

		// The superseded certificate stays downloadable. Its UVCI ends in
		// the check character "/", so this is the %2F round trip.
		if !strings.Contains(old.UVCI, "/") {
			t.Errorf("the fixture's uvci %s has no /: pick a record whose uvci has one", old.UVCI)
		}
		var sup certificateJSON
		e.call("GET", "/v1/me/certificates/"+url.PathEscape(old.UVCI), credCitizenA, nil, http.StatusOK).json(t, &sup)
		if sup.UVCI != old.UVCI || sup.Status != "superseded" {
			t.Errorf("superseded certificate %+v", sup)
		}

		// The signed revocation list lists the old certificate by hash, with
		// no UVCI in clear text, and the service's own /v1/verify answers
		// "revoked" for it.
		rl := e.call("GET", "/v1/revocations", "", nil, http.StatusOK)
		if strings.Contains(string(rl.body), old.UVCI) || rl.header.Get("Content-Type") != mediaJOSE {
			t.Fatalf("revocation list: %s", rl.header.Get("Content-Type"))
		}
		revs, err := lists.ParseRevocations(rl.body, e.pki.CSCA.Cert, testkit.Now)
		if err != nil || revs.Len() != 3 {
			t.Fatalf("revocation list: %v, %d hashes", err, revs.Len())
		}
		var ans venue.Answer
		e.call("POST", "/v1/verify", "", map[string]string{"qr": sup.HC1}, http.StatusOK).json(t, &ans)
		if ans.Decision != venue.DecisionRevoked || ans.Valid || ans.Holder != nil {
			t.Fatalf("superseded certificate at /v1/verify: %+v", ans)
		}
		var hist struct{ Versions []recordJSON }
		e.call("GET", "/v1/dose-records/HN-001/r1/history", credReviewer, nil, http.StatusOK).json(t, &hist)
		if len(hist.Versions) != 2 || hist.Versions[1].Date != "2021-01-15" || hist.Versions[1].Reason == "" {
			t.Fatalf("history %+v", hist)
		}
	})
}

// TestEscapedPathParams: record ids with "/", "#", "%" and spaces travel
// percent-encoded in one path segment and arrive intact.
func TestEscapedPathParams(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		for _, id := range []string{"BM/2021/1", "a#b", "100%", "x y", "plain"} {
			e.submit(record(citizenA, dose("HN-001", id, 1, issuer.StatusDraft)))
			var got finaliseJSON
			e.call("POST", "/v1/dose-records/HN-001/"+url.PathEscape(id)+"/finalise", credFinaliser, nil,
				http.StatusOK).json(t, &got)
			if got.RecordID != id || got.Site != "HN-001" || got.Outcome != service.OutcomeFinalised {
				t.Errorf("record %q: %+v", id, got)
			}
		}
	})
}
