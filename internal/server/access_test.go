package server

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/issuer"
)

// fixture is the state seed builds: citizen A with a finalised dose 1
// (HN-001/r1), a draft dose 2 (HN-001/r2) and a certificate; citizen C in
// the review queue (contradictory dose 1 at HN-001 and HN-002); a
// correction request by A with a photo; a finished issuance job; and a
// spare finaliser token.
type fixture struct {
	uvci       string
	personA    int64
	review     int64
	correction int64
	job        string
	token      string
}

func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (e *env) seed() fixture {
	e.t.Helper()
	var f fixture
	e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised), dose("HN-001", "r2", 2, issuer.StatusDraft)))
	f.uvci = e.issue(citizenA).UVCI
	f.personA = e.personID(citizenA)

	e.submit(record(citizenC, dose("HN-001", "c1", 1, issuer.StatusFinalised)))
	other := dose("HN-002", "c1", 1, issuer.StatusFinalised)
	other.Lot = "OTHERLOT"
	e.submit(record(citizenC, other))
	rs, err := e.svc.ListReviewQueue(e.ctx, system, service.Page{})
	if err != nil || len(rs) != 1 {
		e.t.Fatalf("review queue: %v, %d reviews", err, len(rs))
	}
	f.review = rs[0].ID

	cr, err := e.svc.FileCorrection(e.ctx, citizenA, service.CorrectionRequest{Kind: service.CorrectionWrong,
		Description: "the lot is wrong", Photo: testPNG(e.t), Record: &service.RecordKey{Site: "HN-001", RecordID: "r1"}})
	if err != nil {
		e.t.Fatalf("FileCorrection: %v", err)
	}
	f.correction = cr.ID

	if f.job, err = e.svc.StartIssueAll(e.ctx, system); err != nil {
		e.t.Fatalf("StartIssueAll: %v", err)
	}
	e.waitJob(f.job)

	_, tok, err := e.svc.CreateToken(e.ctx, system, auth.RoleFinaliser, "", "spare")
	if err != nil {
		e.t.Fatal(err)
	}
	f.token = tok.ID
	return f
}

// allCreds are the credentials every route is called with: none, three
// invalid ones, every staff role and two citizens.
var allCreds = []string{"", credGarbage, credExpired, credRevoked, credUploader, credOtherUploader, credFinaliser,
	credReviewer, credAdmin, credCitizenA, credCitizenB}

var invalidCreds = []string{"", credGarbage, credExpired, credRevoked}

// accessCase is one route: who may call it (with a valid request built
// from the fixture) and what everyone else gets.
type accessCase struct {
	method string
	path   func(f fixture) string
	// body returns the content type and body ("" for none).
	body func(f fixture) (string, string)
	// allowed get want; public routes allow every credential.
	allowed []string
	public  bool
	want    int
	// denied overrides the default refusal (401 for invalid credentials,
	// 403 for valid ones).
	denied map[string]int
	// fresh gives every allowed credential its own environment (the call
	// is not repeatable).
	fresh bool
}

func static(p string) func(fixture) string { return func(fixture) string { return p } }

func jsonOf(s string) func(fixture) (string, string) {
	return func(fixture) (string, string) { return "application/json", s }
}

func certPath(suffix string) func(f fixture) string {
	return func(f fixture) string { return "/v1/me/certificates/" + url.PathEscape(f.uvci) + suffix }
}

var accessCases = []accessCase{
	{method: "GET", path: static("/healthz"), public: true, want: 200},
	{method: "GET", path: static("/readyz"), public: true, want: 200},
	{method: "GET", path: static("/metrics"), public: true, want: 200},
	{method: "GET", path: static("/v1/openapi.yaml"), public: true, want: 200},
	{method: "GET", path: static("/v1/revocations"), public: true, want: 200},

	{method: "POST", path: static("/v1/dose-records"), want: 201, allowed: []string{credUploader},
		body: jsonOf(`{"person":{"id":"` + citizenB + `","family_name":"` + family + `","given_name":"` + given +
			`","birth_date":"` + birthDate + `"},"doses":[{"record_id":"b1","site":"HN-001","product":"EU/1/20/1528",` +
			`"manufacturer":"ORG-100030215","lot":"X1","dose_number":1,"series_doses":2,"date":"2021-05-01",` +
			`"country":"VN","status":"draft"}]}`),
		denied: map[string]int{credOtherUploader: 403}},
	// Another site's rows are refused row by row (see TestBatchUpload).
	{method: "POST", path: static("/v1/dose-records/batch"), want: 200, allowed: []string{credUploader, credOtherUploader},
		body: func(fixture) (string, string) {
			return "text/csv", strings.Join(service.CSVColumns, ",") + "\n" + citizenB + "," + family + "," + given +
				"," + birthDate + ",b2,HN-001,EU/1/20/1528,ORG-100030215,X2,1,2,2021-05-01,VN,draft\n"
		}},
	{method: "POST", path: static("/v1/dose-records/finalise"), want: 200, allowed: []string{credFinaliser},
		body: jsonOf(`{"records":[{"site":"HN-001","record_id":"r2"}]}`)},
	{method: "POST", path: static("/v1/dose-records/HN-001/r2/finalise"), want: 200, allowed: []string{credFinaliser}},
	{method: "POST", path: static("/v1/dose-records/HN-001/r1/amend"), want: 200,
		allowed: []string{credFinaliser, credReviewer},
		body: jsonOf(`{"reason":"lot mistyped","dose":{"product":"EU/1/20/1528","manufacturer":"ORG-100030215",` +
			`"lot":"LOTB2","dose_number":1,"series_doses":2,"date":"2021-01-01","country":"VN"}}`)},
	{method: "POST", path: static("/v1/dose-records/HN-001/r1/void"), want: 200,
		allowed: []string{credFinaliser, credReviewer}, body: jsonOf(`{"reason":"entered for the wrong person"}`)},
	{method: "GET", path: static("/v1/dose-records/HN-001/r1/history"), want: 200,
		allowed: []string{credUploader, credFinaliser, credReviewer, credAdmin},
		denied:  map[string]int{credOtherUploader: 403}},
	{method: "GET", path: static("/v1/reviews"), want: 200, allowed: []string{credFinaliser, credReviewer}},
	{method: "POST", path: func(f fixture) string { return "/v1/reviews/" + strconv.FormatInt(f.review, 10) + "/resolve" },
		want: 200, allowed: []string{credFinaliser, credReviewer}, fresh: true,
		body: jsonOf(`{"record":{"site":"HN-002","record_id":"c1"},"void":true,"reason":"duplicate entry"}`)},
	{method: "GET", path: func(f fixture) string { return "/v1/persons/" + strconv.FormatInt(f.personA, 10) + "/records" },
		want: 200, allowed: []string{credFinaliser, credReviewer}},
	{method: "POST", path: func(f fixture) string { return "/v1/persons/" + strconv.FormatInt(f.personA, 10) + "/amend" },
		want: 204, allowed: []string{credFinaliser, credReviewer},
		body: jsonOf(`{"person":{"family_name":"Nguyen","given_name":"Van Duc","birth_date":"1990-04-12"},` +
			`"reason":"spelling on the identity card"}`)},
	{method: "GET",
		path: func(f fixture) string { return "/v1/persons/" + strconv.FormatInt(f.personA, 10) + "/certificates" },
		want: 200, allowed: []string{credFinaliser, credReviewer}},
	{method: "POST", path: static("/v1/persons/issue"), want: 200, allowed: []string{credFinaliser},
		body: jsonOf(`{"national_id":"` + citizenA + `"}`)},
	{method: "POST", path: static("/v1/issuance-jobs"), want: 202, allowed: []string{credFinaliser}},
	{method: "GET", path: func(f fixture) string { return "/v1/issuance-jobs/" + f.job }, want: 200,
		allowed: []string{credFinaliser}},
	{method: "GET", path: static("/v1/issuance-jobs?limit=5"), want: 200, allowed: []string{credFinaliser}},
	// The seeded job has ended: joining it is 409 on both engines.
	{method: "POST", path: func(f fixture) string { return "/v1/issuance-jobs/" + f.job + "/workers" }, want: 409,
		allowed: []string{credFinaliser}},

	{method: "GET", path: static("/v1/me/certificates"), want: 200, allowed: []string{credCitizenA, credCitizenB}},
	{method: "GET", path: certPath(""), want: 200, allowed: []string{credCitizenA},
		denied: map[string]int{credCitizenB: 404}},
	{method: "GET", path: certPath(".png"), want: 200, allowed: []string{credCitizenA},
		denied: map[string]int{credCitizenB: 404}},
	{method: "GET", path: certPath(".pdf"), want: 200, allowed: []string{credCitizenA},
		denied: map[string]int{credCitizenB: 404}},
	{method: "POST", path: static("/v1/me/corrections"), want: 201, allowed: []string{credCitizenA, credCitizenB},
		body: jsonOf(`{"kind":"missing","description":"my booster is missing",` +
			`"dose":{"product":"EU/1/20/1528","date":"2022-01-10","site":"HN-009"},` +
			`"person":{"family_name":"` + family + `","given_name":"` + given + `","birth_date":"` + birthDate + `"}}`)},
	{method: "GET", path: static("/v1/me/corrections"), want: 200, allowed: []string{credCitizenA, credCitizenB}},

	{method: "GET", path: static("/v1/corrections?status=open"), want: 200, allowed: []string{credReviewer}},
	{method: "GET", path: func(f fixture) string { return "/v1/corrections/" + strconv.FormatInt(f.correction, 10) + "/photo" },
		want: 200, allowed: []string{credReviewer}},
	{method: "POST",
		path: func(f fixture) string { return "/v1/corrections/" + strconv.FormatInt(f.correction, 10) + "/decision" },
		want: 200, allowed: []string{credReviewer}, body: jsonOf(`{"accept":false,"reason":"the photo is unreadable"}`)},

	{method: "POST", path: static("/v1/revocations"), want: 200, allowed: []string{credReviewer}, fresh: true,
		body: func(f fixture) (string, string) {
			return "application/json", `{"uvci":"` + f.uvci + `","reason":"certificate sold online (fraud)"}`
		}},

	{method: "GET", path: static("/v1/tokens"), want: 200, allowed: []string{credAdmin}},
	{method: "POST", path: static("/v1/tokens"), want: 201, allowed: []string{credAdmin},
		body: jsonOf(`{"role":"uploader","site":"HN-003","name":"HN-003 uploads"}`)},
	{method: "DELETE", path: func(f fixture) string { return "/v1/tokens/" + f.token }, want: 204,
		allowed: []string{credAdmin}},
	{method: "GET", path: static("/v1/audit?limit=5"), want: 200, allowed: []string{credAdmin}},
}

// TestAccess calls every route with every credential: invalid or missing
// credentials get 401 (with WWW-Authenticate), valid ones of the wrong
// kind or role 403, another site's records 403, another citizen's
// certificate 404, and the allowed callers a 2xx. No error body carries
// personal data.
func TestAccess(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		f := e.seed()
		for _, tc := range accessCases {
			name := tc.method + " " + tc.path(fixture{uvci: "{uvci}", job: "{id}", token: "{id}"})
			t.Run(name, func(t *testing.T) {
				// Every case but the first runs on a fresh env: the
				// allowed calls change state.
				ce, cf := e, f
				if tc.method != "GET" || tc.fresh {
					ce = newEnv(t, storetest.Open(t, st.Engine()))
					cf = ce.seed()
				}
				ce.t = t
				for _, cred := range allCreds {
					if tc.public || slices.Contains(tc.allowed, cred) {
						continue
					}
					want, ok := tc.denied[cred]
					switch {
					case ok:
					case slices.Contains(invalidCreds, cred):
						want = http.StatusUnauthorized
					default:
						want = http.StatusForbidden
					}
					res := ce.send(tc, cf, cred)
					if res.status != want {
						t.Errorf("as %q: status %d, want %d: %s", cred, res.status, want, res.body)
						continue
					}
					checkRefusal(t, cred, res)
				}
				allowed := tc.allowed
				if tc.public {
					allowed = allCreds
				}
				for i, cred := range allowed {
					if tc.fresh && i > 0 {
						ce = newEnv(t, storetest.Open(t, st.Engine()))
						cf = ce.seed()
					}
					if res := ce.send(tc, cf, cred); res.status != tc.want {
						t.Errorf("as %q: status %d, want %d: %s", cred, res.status, tc.want, res.body)
					}
				}
			})
		}
	})
}

func (e *env) send(tc accessCase, f fixture, cred string) *response {
	e.t.Helper()
	r := req{method: tc.method, path: tc.path(f), cred: cred}
	if tc.body != nil {
		ct, body := tc.body(f)
		r.contentType, r.body = ct, strings.NewReader(body)
	}
	return e.do(r)
}

// checkRefusal checks a refused request's error body and headers.
func checkRefusal(t *testing.T, cred string, res *response) {
	t.Helper()
	if res.status == http.StatusOK {
		return // another site's batch rows, refused row by row
	}
	ae := res.apiErr(t)
	wantCode := map[int]string{401: codeUnauthenticated, 403: codeForbidden, 404: codeNotFound}[res.status]
	if ae.Code != wantCode || ae.Message == "" {
		t.Errorf("as %q: error %+v, want code %q and a message", cred, ae, wantCode)
	}
	noPersonalData(t, "error body", string(res.body))
	auth := res.header.Get("WWW-Authenticate")
	switch {
	case res.status == http.StatusUnauthorized && cred == "" && auth != `Bearer realm="vaxcert"`,
		res.status == http.StatusUnauthorized && cred != "" && !strings.HasSuffix(auth, `error="invalid_token"`):
		t.Errorf("as %q: WWW-Authenticate %q", cred, auth)
	case res.status != http.StatusUnauthorized && auth != "":
		t.Errorf("as %q: WWW-Authenticate %q on %d", cred, auth, res.status)
	}
}
