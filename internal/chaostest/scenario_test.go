//go:build chaos

package chaostest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The scenario's vaccine: Comirnaty, and Spikevax for contradictions.
const (
	product      = "EU/1/20/1528"
	manufacturer = "ORG-100030215"
	otherProduct = "EU/1/20/1507"
	otherMaker   = "ORG-100031184"
)

// sites upload; the first is the development uploader's site.
var sites = []string{"HN-001", "HN-002", "HCM-01", "DN-001"}

// names: the spelling with diacritics and the same name as a site without
// diacritics types it (same ICAO transliteration).
var families = [][2]string{{"Nguyễn", "NGUYEN"}, {"Trần", "TRAN"}, {"Lê", "LE"}, {"Phạm", "PHAM"}, {"Hoàng", "HOANG"}}
var givens = [][2]string{{"Văn Đức", "VAN DUC"}, {"Thị Mai", "THI MAI"}, {"Minh Anh", "MINH ANH"}, {"Quốc Bảo", "QUOC BAO"}}

// kind is what happens to a person in the scenario.
type kind int

const (
	plain         kind = iota // doses from one or more sites
	contradiction             // two sites report different shots with the same dose number
	disputed                  // a second site names them with another birth date
)

// shot is one administered dose and how it reaches the service.
type shot struct {
	dn, sd      int
	date        string // the true date
	lot         string
	site        string // the site that gave it
	recordID    string
	round       int    // 1 or 2: when the primary row is uploaded
	draft       bool   // uploaded as draft, finalised by a finaliser after its round
	wrongDate   string // uploaded with this date, amended after round 2 ("" if right)
	copySite    string // a second site also uploads it in round 2 ("" if not)
	copyID      string
	copyVariant bool // the copy spells the name without diacritics
}

// person is one person of the scenario with their expected state.
type person struct {
	id                    string
	family, given, birth  string
	plainFamily, plainGiv string
	kind                  kind
	shots                 []*shot
	// conflicting is the other site's row of a contradiction or dispute.
	conflicting *row
}

// row is one uploaded row (NDJSON document with one dose).
type row struct {
	site string
	doc  map[string]any
}

// expected is a person's expected state: the current certificate's last
// vaccination (dn, sd, date) and family name, or none with an open review.
type expected struct {
	review   bool
	dn, sd   int
	date     string
	family   string
	identity bool
}

// scenario is the whole plan, made from a fixed seed.
type scenario struct {
	persons []*person
}

func newScenario(n int, seed uint64) *scenario {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	base := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	sc := &scenario{}
	for i := range n {
		f, g := families[rng.IntN(len(families))], givens[rng.IntN(len(givens))]
		p := &person{id: fmt.Sprintf("0%011d", 10_000_000_000+i), family: f[0], given: g[0], plainFamily: f[1],
			plainGiv: g[1], birth: fmt.Sprintf("19%02d-%02d-%02d", 50+rng.IntN(50), 1+rng.IntN(12), 1+rng.IntN(28))}
		switch r := rng.Float64(); {
		case r < 0.01:
			p.kind = contradiction
		case r < 0.02:
			p.kind = disputed
		}
		nd := 1 + rng.IntN(3)
		start := base.AddDate(0, 0, rng.IntN(120))
		for k := 1; k <= nd; k++ {
			s := &shot{dn: k, sd: max(2, nd), date: start.AddDate(0, 0, 28*(k-1)).Format(time.DateOnly),
				lot: "L" + strconv.Itoa(rng.IntN(900)+100), site: sites[rng.IntN(len(sites))], round: 1}
			s.recordID = fmt.Sprintf("%s-%d-%d", s.site, i, k)
			if p.kind == plain {
				if k == nd && nd > 1 && rng.Float64() < 0.3 {
					s.round = 2 // a late dose
				}
				s.draft = rng.Float64() < 0.1
				if rng.Float64() < 0.2 {
					s.copySite = sites[(indexOf(sites, s.site)+1+rng.IntN(len(sites)-1))%len(sites)]
					s.copyID = fmt.Sprintf("%s-c%d-%d", s.copySite, i, k)
					s.copyVariant = rng.Float64() < 0.5
				}
				if rng.Float64() < 0.06 {
					s.wrongDate = start.AddDate(0, 0, 28*(k-1)-3).Format(time.DateOnly)
				}
			}
			p.shots = append(p.shots, s)
		}
		switch p.kind {
		case contradiction:
			s := p.shots[0]
			other := sites[(indexOf(sites, s.site)+1)%len(sites)]
			d := dose(other, fmt.Sprintf("%s-x%d", other, i), s.dn, s.sd, s.date, "X"+s.lot, "finalised")
			d["product"], d["manufacturer"] = otherProduct, otherMaker
			p.conflicting = &row{site: other, doc: doc(p, false, "", d)}
		case disputed:
			s := p.shots[0]
			other := sites[(indexOf(sites, s.site)+1)%len(sites)]
			d := dose(other, fmt.Sprintf("%s-y%d", other, i), s.dn, s.sd, s.date, s.lot, "finalised")
			p.conflicting = &row{site: other, doc: doc(p, false, "1901-01-01", d)}
		}
		sc.persons = append(sc.persons, p)
	}
	return sc
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func dose(site, recordID string, dn, sd int, date, lot, status string) map[string]any {
	return map[string]any{"record_id": recordID, "site": site, "product": product, "manufacturer": manufacturer,
		"lot": lot, "dose_number": dn, "series_doses": sd, "date": date, "country": "VN", "status": status}
}

// doc is a one-dose record document of p; variant spells the name without
// diacritics, birth overrides the birth date.
func doc(p *person, variant bool, birth string, d map[string]any) map[string]any {
	fam, giv := p.family, p.given
	if variant {
		fam, giv = p.plainFamily, p.plainGiv
	}
	if birth == "" {
		birth = p.birth
	}
	return map[string]any{"person": map[string]any{"id": p.id, "family_name": fam, "given_name": giv,
		"birth_date": birth}, "doses": []any{d}}
}

// rows returns the rows of a round, by site.
func (sc *scenario) rows(round int) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, p := range sc.persons {
		for _, s := range p.shots {
			if s.round == round {
				status, date := "finalised", s.date
				if s.draft {
					status = "draft"
				}
				if s.wrongDate != "" {
					date = s.wrongDate
				}
				out[s.site] = append(out[s.site], doc(p, false, "", dose(s.site, s.recordID, s.dn, s.sd, date, s.lot, status)))
			}
			if s.copySite != "" && round == 2 {
				date := s.date
				if s.wrongDate != "" {
					date = s.wrongDate // the same wrong date: the same shot
				}
				out[s.copySite] = append(out[s.copySite],
					doc(p, s.copyVariant, "", dose(s.copySite, s.copyID, s.dn, s.sd, date, s.lot, "finalised")))
			}
		}
		if p.conflicting != nil && round == 1 {
			out[p.conflicting.site] = append(out[p.conflicting.site], p.conflicting.doc)
		}
	}
	return out
}

// drafts returns the record keys uploaded as drafts in a round.
func (sc *scenario) drafts(round int) [][2]string {
	var out [][2]string
	for _, p := range sc.persons {
		for _, s := range p.shots {
			if s.round == round && s.draft {
				out = append(out, [2]string{s.site, s.recordID})
			}
		}
	}
	return out
}

// amendment is a correction of a wrong date, sent through a copy.
type amendment struct {
	site, recordID string
	dose           map[string]any
}

// amendments corrects every wrong date, through the other site's copy
// when there is one (a shot is one record: the correction reaches both).
func (sc *scenario) amendments() []amendment {
	var out []amendment
	for _, p := range sc.persons {
		for _, s := range p.shots {
			if s.wrongDate == "" {
				continue
			}
			site, id := s.site, s.recordID
			if s.copySite != "" {
				site, id = s.copySite, s.copyID
			}
			d := dose(site, id, s.dn, s.sd, s.date, s.lot, "")
			delete(d, "status")
			out = append(out, amendment{site: site, recordID: id, dose: d})
		}
	}
	return out
}

// expect computes a person's expected final state from the scenario.
func (p *person) expect() expected {
	switch p.kind {
	case contradiction:
		return expected{review: true}
	case disputed:
		return expected{review: true, identity: true}
	}
	last := p.shots[len(p.shots)-1]
	return expected{dn: last.dn, sd: last.sd, date: last.date, family: p.family}
}

// writeFiles writes a round's rows as files, shuffled (so later doses may
// come first), two per site, and returns them by site.
func writeFiles(dir string, round int, rows map[string][]map[string]any, rng *rand.Rand) (map[string][]string, error) {
	out := map[string][]string{}
	for _, site := range sites {
		rs := rows[site]
		rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		half := len(rs) / 2
		for part, chunk := range [][]map[string]any{rs[:half], rs[half:]} {
			var b strings.Builder
			for _, r := range chunk {
				j, err := json.Marshal(r)
				if err != nil {
					return nil, err
				}
				b.Write(j)
				b.WriteByte('\n')
			}
			path := filepath.Join(dir, fmt.Sprintf("r%d-%s-%d.ndjson", round, site, part))
			if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
				return nil, err
			}
			out[site] = append(out[site], path)
		}
	}
	return out, nil
}

// stats describes the scenario's mix.
func (sc *scenario) stats() string {
	var shots, late, drafts, copies, variants, wrong, contra, disp int
	for _, p := range sc.persons {
		switch p.kind {
		case contradiction:
			contra++
		case disputed:
			disp++
		}
		for _, s := range p.shots {
			shots++
			if s.round == 2 {
				late++
			}
			if s.draft {
				drafts++
			}
			if s.copySite != "" {
				copies++
				if s.copyVariant {
					variants++
				}
			}
			if s.wrongDate != "" {
				wrong++
			}
		}
	}
	return fmt.Sprintf("scenario: %d persons, %d shots (%d late, %d drafts, %d uploaded by two sites, %d of them "+
		"spelt without diacritics, %d amended), %d persons with contradictory records, %d with a disputed identity",
		len(sc.persons), shots, late, drafts, copies, variants, wrong, contra, disp)
}
