package verifysvc_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/offline"
)

// venueRule is a gateway rule envelope for VN vaccination certificates.
func venueRule(id, desc, logic string) json.RawMessage {
	b, err := json.Marshal(map[string]any{
		"Identifier": id, "Type": "Acceptance", "Country": "VN", "Version": "1.0.0", "SchemaVersion": "1.3.0",
		"Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": "Vaccination",
		"Description": []any{map[string]any{"lang": "en", "desc": desc}},
		"ValidFrom":   "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": []any{"v.0"},
		"Logic": json.RawMessage(logic),
	})
	if err != nil {
		panic(err)
	}
	return b
}

// ruleFolder is the issuer's rule folder, changed by the test.
type ruleFolder struct {
	mu    sync.Mutex
	rules []json.RawMessage
}

func (f *ruleFolder) set(r ...json.RawMessage) { f.mu.Lock(); f.rules = r; f.mu.Unlock() }
func (f *ruleFolder) read() ([]json.RawMessage, []json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rules, nil, nil
}

// TestRuleSetSync is issue 8's "a venue's policy change is a signed
// rule-set update, not a release": the issuer's rules change, and after
// the next sync the venue's answer follows, without a restart; a
// rolled-back or expired rule set is refused and the one held keeps
// working, also after the verifier's restart.
func TestRuleSetSync(t *testing.T) {
	w := newWorld(t)
	w.country = "VN"
	cert, err := w.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	covid := venueRule("VR-VN-0001", "The vaccination must be against COVID-19.", `{"===": [{"var": "payload.v.0.tg"}, "840539006"]}`)
	booster := venueRule("VR-VN-0099", "A booster (third dose) is required.", `{">=": [{"var": "payload.v.0.dn"}, 3]}`)

	// No rule set published yet: the sync succeeds (404 is not an error),
	// and the policy alone decides; the scan page gets no rule set.
	sy, ts := w.verifier(withScanPage(w))
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatalf("sync without a published rule set: %v", err)
	}
	_, a := post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)
	if code, _ := get(t, ts, "/v1/rule-set"); code != http.StatusNotFound {
		t.Fatalf("rule set before one is synced: %d, want 404", code)
	}

	// The issuer publishes a rule set the certificate meets.
	folder := &ruleFolder{}
	folder.set(covid)
	w.pub.PublishRules(folder.read)
	first, _, err := w.pub.CurrentRuleSet()
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)

	// The policy changes: a booster is required. Same verifier process.
	w.clk.advance(time.Minute)
	folder.set(covid, booster)
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true) // until the next sync
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "not_accepted", "rules_failed", false)
	pageAgrees(t, w, ts, cert.HC1) // the scan page applies the same set

	// A rolled-back rule set (the first one, replayed) is refused.
	serve := w.serve
	w.serve = func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/rule-set" {
			rw.Write(first)
			return
		}
		serve(rw, r)
	}
	if err := sy.Sync(context.Background()); !errors.Is(err, lists.ErrRollback) {
		t.Fatalf("rolled-back rule set: %v, want ErrRollback", err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "not_accepted", "rules_failed", false)

	// An expired rule set, even with a higher sequence, is refused.
	old, err := trustpub.New(trustpub.Config{KeyDir: w.keyDir, Validity: time.Hour,
		Clock: func() time.Time { return w.clk.now().Add(-2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := old.RuleSet(uint64(w.clk.now().Unix())+1000, []json.RawMessage{covid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.serve = func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/rule-set" {
			rw.Write(expired)
			return
		}
		serve(rw, r)
	}
	if err := sy.Sync(context.Background()); !errors.Is(err, lists.ErrExpired) {
		t.Fatalf("expired rule set: %v, want ErrExpired", err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "not_accepted", "rules_failed", false)

	// The verifier restarts with the issuer stopped: the rule set held
	// (the booster one) comes back from disk.
	w.issuer.Close()
	_, ts2 := w.verifier(withScanPage(w))
	_, a = post(t, ts2, cert.HC1, "")
	want(t, a, "not_accepted", "rules_failed", false)
	pageAgrees(t, w, ts2, cert.HC1)
}

// withScanPage serves the scan page and its lists and rule set.
func withScanPage(w *world) func(*verifysvc.Config) {
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.pki.CSCA.Cert.Raw})
	return func(c *verifysvc.Config) {
		c.Scan = &scanpage.Config{Root: root, TrustList: "/v1/trust-list", Revocations: "/v1/revocations",
			RuleSet: "/v1/rule-set", Country: w.country}
	}
}

// pageAgrees checks that what the scan page runs (verifier/offline, as
// the wasm does) over the lists and the rule set the service serves
// answers qr as POST /v1/verify does.
func pageAgrees(t *testing.T, w *world, ts *httptest.Server, qr string) {
	t.Helper()
	var got [3]string
	for i, path := range []string{"/v1/trust-list", "/v1/revocations", "/v1/rule-set"} {
		code, body := get(t, ts, path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		got[i] = body
	}
	now := w.clk.now()
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.pki.CSCA.Cert.Raw})
	s, err := offline.NewSession(root, []byte(got[0]), nil, now, offline.Options{StaleAfter: 24 * time.Hour})
	if err == nil {
		err = s.UpdateRevocationBundle([]byte(got[1]), now)
	}
	if err == nil {
		err = s.UpdateRuleSet([]byte(got[2]), w.country, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	_, service := post(t, ts, qr, "")
	if page := s.Verify([]byte(qr), now); !reflect.DeepEqual(service, page) {
		t.Errorf("the page answers %+v, the service %+v", page, service)
	}
}

// TestRuleSetConfigured: a signed rule set the service applies from its
// configuration (--rules FILE) is served to the scan page until a synced
// one replaces it.
func TestRuleSetConfigured(t *testing.T) {
	w := newWorld(t)
	w.country = "VN"
	covid := venueRule("VR-VN-0001", "The vaccination must be against COVID-19.", `{"===": [{"var": "payload.v.0.tg"}, "840539006"]}`)
	configured, err := w.pub.RuleSet(1, []json.RawMessage{covid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sy, ts := w.verifier(withScanPage(w), func(c *verifysvc.Config) { c.RuleSet = configured })
	if code, body := get(t, ts, "/v1/rule-set"); code != http.StatusOK || body != string(configured) {
		t.Fatalf("configured rule set: %d %.40q", code, body)
	}
	w.clk.advance(time.Minute)
	folder := &ruleFolder{}
	folder.set(covid)
	w.pub.PublishRules(folder.read)
	synced, _, err := w.pub.CurrentRuleSet()
	if err != nil || string(synced) == string(configured) {
		t.Fatalf("the issuer's rule set: %v (the same as the configured one: %v)", err, string(synced) == string(configured))
	}
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, ts, "/v1/rule-set"); code != http.StatusOK || body != string(synced) {
		t.Fatalf("after a sync: %d %.40q, want the synced set", code, body)
	}
}
