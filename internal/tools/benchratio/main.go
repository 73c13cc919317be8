// Command benchratio runs the hot-path benchmarks beside their yardsticks
// and prints the ratios the README reports. Each round runs one benchmark
// and its yardstick back to back in the same process, so load drift hits
// both; the ratio reported is the median over the rounds.
//
//	go run ./internal/tools/benchratio [-rounds 7] [-benchtime 2000x]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

type pair struct {
	pkg, bench, yardstick, label string
}

var pairs = []pair{
	{"./verifier", "VerifyES256", "BareECDSAP256Verify", "verify ES256 / bare ECDSA P-256 verify"},
	{"./verifier", "VerifyPS256", "BareRSAPSSVerify", "verify PS256 / bare RSA-PSS verify"},
	{"./issuer", "IssueES256", "BareECDSAP256Sign", "issue ES256 / bare ECDSA P-256 sign"},
	{"./issuer", "IssuePS256", "BareRSAPSSSign", "issue PS256 / bare RSA-PSS sign"},
	{"./verifier/rules", "RuleSet20", "BareECDSAP256Verify", "20-rule set evaluation / bare ECDSA P-256 verify"},
	{"./verifier/venue", "RevocationLookup1M", "VenueCheck", "revocation lookup in 1M hashes / venue check"},
}

func main() {
	rounds := flag.Int("rounds", 7, "rounds per pair")
	benchtime := flag.String("benchtime", "2000x", "go test -benchtime per benchmark")
	flag.Parse()
	fmt.Printf("| ratio | median | min | max | benchmark ns/op (median) | yardstick ns/op (median) |\n|---|---|---|---|---|---|\n")
	for _, p := range pairs {
		var ratios, bs, ys []float64
		for i := 0; i < *rounds; i++ {
			res, err := run(p, *benchtime)
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchratio:", err)
				os.Exit(1)
			}
			b, y := res[p.bench], res[p.yardstick]
			ratios, bs, ys = append(ratios, b/y), append(bs, b), append(ys, y)
		}
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.0f | %.0f |\n", p.label, median(ratios), minOf(ratios), maxOf(ratios), median(bs), median(ys))
	}
	corpus, err := run(pair{pkg: "./verifier/rules", bench: "LoadCorpus"}, "50x")
	if err == nil {
		fmt.Printf("\nRules corpus load (55 EU/DE/AT/CZ rules + 14 VN rules, validated and compiled): %.1f ms\n", corpus["LoadCorpus"]/1e6)
	}
	qr, err := run(pair{pkg: "./issuer", bench: "QRPNG"}, "200x")
	if err == nil {
		fmt.Printf("\nQR PNG rendering (reported separately): %.2f ms per certificate\n", qr["QRPNG"]/1e6)
	}
}

// run executes the pair once and returns ns/op per benchmark name.
func run(p pair, benchtime string) (map[string]float64, error) {
	re := "^Benchmark(" + p.bench
	if p.yardstick != "" {
		re += "|" + p.yardstick
	}
	re += ")$"
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", re, "-benchtime", benchtime, "-count", "1", p.pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", p.pkg, err, out.String())
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err == nil {
			res[name] = v
		}
	}
	for _, n := range []string{p.bench, p.yardstick} {
		if _, ok := res[n]; !ok && n != "" {
			return nil, fmt.Errorf("benchmark %s missing from output:\n%s", n, out.String())
		}
	}
	return res, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
