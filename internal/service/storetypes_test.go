package service

import (
	"testing"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// The store keeps its own dose type and statuses; the service converts
// between them and the interchange format's. A conversion round trip keeps
// every field and the status names agree.
func TestStoreTypes(t *testing.T) {
	d := dose("S1", "R1", 2, issuer.StatusFinalised)
	if got := issuer.Dose(store.DoseFields(d)); got != d {
		t.Errorf("round trip through store.DoseFields = %+v, want %+v", got, d)
	}
	for _, c := range [][2]string{{store.StatusDraft, issuer.StatusDraft}, {store.StatusFinalised, issuer.StatusFinalised}} {
		if c[0] != c[1] {
			t.Errorf("store status %q, issuer status %q", c[0], c[1])
		}
	}
	if store.StatusVoid == issuer.StatusDraft || store.StatusVoid == issuer.StatusFinalised {
		t.Errorf("StatusVoid %q collides with an interchange status", store.StatusVoid)
	}
}
