package certdoc

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/vaxcert/vaxcert/internal/hcqr"
	"github.com/vaxcert/vaxcert/internal/hcqr/hcqrtest"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

var ict = time.FixedZone("ICT", 7*3600)

// sampleDoc is a realistic vaccination certificate with a 554-character HC1.
func sampleDoc() Document {
	return Document{
		HolderName:    "Nguyễn Văn Đức",
		HolderNameStd: "NGUYEN<<VAN<DUC",
		BirthDate:     "1990-04-12",
		Type:          schemas.TypeVaccination,
		Disease:       "COVID-19",
		Vaccine:       "Comirnaty",
		VaccineType:   "Vắc xin mRNA / SARS-CoV-2 mRNA vaccine",
		Manufacturer:  "Biontech Manufacturing GmbH",
		DoseNumber:    2,
		SeriesDoses:   2,
		DoseDate:      "2021-09-01",
		Country:       "Việt Nam / Viet Nam",
		Issuer:        "Bộ Y tế / Ministry of Health of Viet Nam",
		UVCI:          "URN:UVCI:01:VN:BYT/2021/000123456#K",
		IssuedAt:      time.Date(2021, 9, 2, 10, 0, 0, 0, ict),
		ExpiresAt:     time.Date(2022, 9, 2, 10, 0, 0, 0, ict),
		HC1:           hcqrtest.RandomHC1(550, 1),
	}
}

func testDoc() Document {
	d := sampleDoc()
	d.Type = schemas.TypeTest
	d.TestType = "Xét nghiệm RT-PCR / Nucleic acid amplification with probe detection"
	d.TestName = "cobas SARS-CoV-2"
	d.SampleTime = "2021-09-01 08:30 (UTC+07:00)"
	d.TestResult = "Âm tính / Not detected"
	d.TestCentre = "Bệnh viện Bạch Mai"
	d.Manufacturer = ""
	return d
}

func recoveryDoc() Document {
	d := sampleDoc()
	d.Type = schemas.TypeRecovery
	d.FirstPositive = "2021-07-20"
	d.ValidFrom = "2021-07-31"
	d.ValidUntil = "2022-01-15"
	return d
}

func mustRender(t *testing.T, d Document) []byte {
	t.Helper()
	pdf, err := RenderPDF(d)
	if err != nil {
		t.Fatalf("RenderPDF: %v", err)
	}
	return pdf
}

func TestRenderPDFInvalid(t *testing.T) {
	long := strings.Repeat("a", maxText+1)
	tests := []struct {
		name   string
		edit   func(*Document)
		field  string
		reason Reason
	}{
		{"empty HC1", func(d *Document) { d.HC1 = "" }, "HC1", ReasonMissing},
		{"wrong prefix", func(d *Document) { d.HC1 = "HC2:" + d.HC1[4:] }, "HC1", ReasonHC1Prefix},
		{"lowercase HC1", func(d *Document) { d.HC1 += "a" }, "HC1", ReasonHC1Charset},
		{"HC1 beyond version 40-Q", func(d *Document) { d.HC1 = hcqrtest.RandomHC1(2417, 5) }, "HC1", ReasonHC1TooLong},
		{"HC1 beyond any QR", func(d *Document) { d.HC1 = hcqrtest.RandomHC1(limits.MaxQRText, 5) }, "HC1", ReasonHC1TooLong},
		{"unknown type", func(d *Document) { d.Type = "booster" }, "Type", ReasonType},
		{"no names", func(d *Document) { d.HolderName, d.HolderNameStd = "", " " }, "HolderName", ReasonMissing},
		{"name with line break", func(d *Document) { d.HolderName = "Nguyễn Văn\nĐức" }, "HolderName", ReasonText},
		{"name outside repertoire", func(d *Document) { d.HolderName = "Nguyễn 王" }, "HolderName", ReasonText},
		{"name invalid utf-8", func(d *Document) { d.HolderName = "Nguy\xffn" }, "HolderName", ReasonText},
		{"name too long", func(d *Document) { d.HolderName = strings.Repeat("Đ", maxName+1) }, "HolderName", ReasonTooLong},
		{"issuer too long", func(d *Document) { d.Issuer = long }, "Issuer", ReasonTooLong},
		{"issuer huge", func(d *Document) { d.Issuer = strings.Repeat(long, 1000) }, "Issuer", ReasonTooLong},
		{"NFD name at the limit", func(d *Document) { d.HolderName = norm.NFD.String(strings.Repeat("ễ", maxName)) + "ễ" }, "HolderName", ReasonTooLong},
		{"missing UVCI", func(d *Document) { d.UVCI = "" }, "UVCI", ReasonMissing},
		{"missing vaccine", func(d *Document) { d.Vaccine = "" }, "Vaccine", ReasonMissing},
		{"dose 0", func(d *Document) { d.DoseNumber = 0 }, "DoseNumber", ReasonRange},
		{"series 100", func(d *Document) { d.SeriesDoses = 100 }, "SeriesDoses", ReasonRange},
		{"missing issue time", func(d *Document) { d.IssuedAt = time.Time{} }, "IssuedAt", ReasonMissing},
		{"expiry before issue", func(d *Document) { d.ExpiresAt = d.IssuedAt }, "ExpiresAt", ReasonRange},
		{"test without result", func(d *Document) { *d = testDoc(); d.TestResult = "" }, "TestResult", ReasonMissing},
		{"recovery without end", func(d *Document) { *d = recoveryDoc(); d.ValidUntil = "" }, "ValidUntil", ReasonMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDoc()
			tc.edit(&d)
			pdf, err := RenderPDF(d)
			if pdf != nil {
				t.Errorf("got %d bytes of PDF, want none", len(pdf))
			}
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("err = %v, want ErrInvalidDocument", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Reason != tc.reason {
				t.Fatalf("err = %#v, want FieldError{%s, %v}", err, tc.field, tc.reason)
			}
			for _, personal := range []string{"Nguy", "Đức", "1990", "000123456"} {
				if strings.Contains(err.Error(), personal) {
					t.Errorf("error message carries personal data %q", personal)
				}
			}
		})
	}
}

func TestRenderPDFTypes(t *testing.T) {
	for _, d := range []Document{sampleDoc(), testDoc(), recoveryDoc()} {
		t.Run(string(d.Type), func(t *testing.T) {
			pdf := mustRender(t, d)
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatal("output is not a PDF")
			}
			if n := bytes.Count(pdf, []byte("/Type /Page\n")); n != 1 {
				t.Errorf("%d pages, want 1", n)
			}
			if !bytes.Contains(pdf, []byte("/MediaBox [0 0 595.28 841.89]")) {
				t.Error("page is not A4 (MediaBox 595.28 x 841.89 pt)")
			}
			// Both DejaVu fonts embedded as TrueType subsets.
			if n := bytes.Count(pdf, []byte("/FontFile2 ")); n != 2 {
				t.Errorf("%d embedded TrueType fonts, want 2", n)
			}
			for _, name := range []string{"utf8dejavusans", "utf8dejavusansB"} {
				if !bytes.Contains(pdf, []byte("/FontDescriptor /FontName /"+name+"\n")) {
					t.Errorf("font %s not embedded", name)
				}
			}
			// Metadata: fixed dates from IssuedAt, no personal data.
			if !bytes.Contains(pdf, []byte("/CreationDate (D:20210902100000)")) {
				t.Error("CreationDate is not IssuedAt")
			}
			if bytes.Contains(pdf, []byte("NGUYEN")) {
				t.Error("holder name appears outside the page content")
			}
		})
	}
}

func TestRenderPDFDeterministic(t *testing.T) {
	a, b := mustRender(t, sampleDoc()), mustRender(t, sampleDoc())
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same document differ")
	}
	d := sampleDoc()
	d.IssuedAt = d.IssuedAt.Add(time.Second)
	if bytes.Equal(a, mustRender(t, d)) {
		t.Fatal("a different IssuedAt gives the same bytes")
	}
}

// maxDoc returns d with every text field at its length limit, filled from
// pattern, and the largest QR code.
func maxDoc(d Document, pattern string) Document {
	fill := func(n int) string { return string([]rune(strings.Repeat(pattern, n))[:n]) }
	for _, s := range []*string{&d.BirthDate, &d.Disease, &d.Vaccine, &d.VaccineType, &d.Manufacturer,
		&d.DoseDate, &d.TestType, &d.TestName, &d.SampleTime, &d.TestResult, &d.TestCentre,
		&d.FirstPositive, &d.ValidFrom, &d.ValidUntil, &d.Country, &d.Issuer, &d.UVCI} {
		*s = fill(maxText)
	}
	d.HolderName, d.HolderNameStd = fill(maxName), fill(maxName)
	d.DoseNumber, d.SeriesDoses = maxDose, maxDose
	d.HC1 = hcqrtest.RandomHC1(2416, 6)
	return d
}

// TestRenderPDFConcurrent renders from several goroutines (run with -race):
// the shared font data must not be written.
func TestRenderPDFConcurrent(t *testing.T) {
	want := mustRender(t, sampleDoc())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := RenderPDF(sampleDoc())
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("concurrent render differs (err %v)", err)
			}
		})
	}
	wg.Wait()
}

// TestRenderPDFLimits: every field at its limit in ordinary words still
// fits one page (in a smaller type). The test certificate, which has the
// most rows, does not fit with every field in the widest capitals: that is
// reported as ErrTooMuchText.
func TestRenderPDFLimits(t *testing.T) {
	for _, d := range []Document{sampleDoc(), testDoc(), recoveryDoc()} {
		t.Run(string(d.Type), func(t *testing.T) {
			mustRender(t, maxDoc(d, "Nguyễn Thị Minh Khai, Hà Nội "))
		})
	}
	_, err := RenderPDF(maxDoc(testDoc(), "WÀ"))
	if !errors.Is(err, ErrTooMuchText) || !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("test certificate in capitals: err = %v, want ErrTooMuchText", err)
	}
}

func TestNormalizeNFC(t *testing.T) {
	d := sampleDoc()
	d.HolderName = norm.NFD.String(" Nguyễn Văn Đức ")
	got, err := normalize(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.HolderName != "Nguyễn Văn Đức" {
		t.Errorf("HolderName = %q, want NFC without surrounding space", got.HolderName)
	}
}

// rect is a filled rectangle of the page content, in points from the
// top-left corner.
type rect struct{ x, y, w, h float64 }

// blackRects returns the rectangles filled in black in the page content
// stream: exactly the QR modules.
func blackRects(t *testing.T, pdf []byte) []rect {
	t.Helper()
	const pageHPt = 841.89
	reStream := regexp.MustCompile(`(?s)/Filter /FlateDecode /Length \d+>>\nstream\n(.*?)\nendstream`)
	reFill := regexp.MustCompile(`^(?:[\d.]+ g|[\d.]+ [\d.]+ [\d.]+ rg)$`)
	reRect := regexp.MustCompile(`^([\d.-]+) ([\d.-]+) ([\d.-]+) ([\d.-]+) re f$`)
	var rects []rect
	for _, s := range reStream.FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(s[1]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil || !bytes.Contains(content, []byte(" re f\n")) {
			continue
		}
		black := false
		for _, line := range strings.Split(string(content), "\n") {
			if reFill.MatchString(line) {
				black = line == "0.000 g"
			}
			if m := reRect.FindStringSubmatch(line); m != nil && black {
				v := make([]float64, 4)
				for i := range v {
					v[i], _ = strconv.ParseFloat(m[i+1], 64)
				}
				rects = append(rects, rect{v[0], pageHPt - v[1], v[2], -v[3]})
			}
		}
	}
	return rects
}

// TestQRDrawing reads the QR back from the vector drawing: every module is
// an exactly square cell of one grid, the cells rebuild the encoder's matrix,
// and the symbol measures at least 35 mm with a diagonal of at most 60 mm.
func TestQRDrawing(t *testing.T) {
	d := sampleDoc()
	want, _ := hcqr.Encode(d.HC1)
	rects := blackRects(t, mustRender(t, d))
	if len(rects) == 0 {
		t.Fatal("no black rectangles in the page content")
	}
	mod := rects[0].h
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, r := range rects {
		x0, y0 = math.Min(x0, r.x), math.Min(y0, r.y)
		x1, y1 = math.Max(x1, r.x+r.w), math.Max(y1, r.y+r.h)
	}
	n := len(want)
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	const eps = 0.006 // the PDF coordinates carry 2 decimals
	cell := func(v float64) (int, bool) {
		f := v / mod
		return int(math.Round(f)), math.Abs(f-math.Round(f))*mod < eps
	}
	for _, r := range rects {
		col, okx := cell(r.x - x0)
		row, oky := cell(r.y - y0)
		span, okw := cell(r.w)
		if !okx || !oky || !okw || math.Abs(r.h-mod) > eps || row >= n || col+span > n {
			t.Fatalf("rectangle %+v is off the %.2f pt module grid", r, mod)
		}
		for c := col; c < col+span; c++ {
			got[row][c] = true
		}
	}
	for y := range want {
		for x := range want[y] {
			if got[y][x] != want[y][x] {
				t.Fatalf("module (%d,%d) drawn %v, want %v", x, y, got[y][x], want[y][x])
			}
		}
	}
	wMM, hMM := (x1-x0)/ptPerMM, (y1-y0)/ptPerMM
	if math.Abs(wMM-hMM) > eps || math.Abs(wMM-float64(n)*mod/ptPerMM) > eps {
		t.Errorf("symbol %.3f x %.3f mm is not %d square modules", wMM, hMM, n)
	}
	if wMM < 35 || wMM*math.Sqrt2 > 60 {
		t.Errorf("symbol side %.2f mm (diagonal %.2f mm), want side >= 35 and diagonal <= 60", wMM, wMM*math.Sqrt2)
	}
	t.Logf("QR version %d: %d modules of %.3f mm, side %.2f mm, diagonal %.2f mm, %d rectangles",
		(n-17)/4, n, mod/ptPerMM, wMM, wMM*math.Sqrt2, len(rects))
}

// requireTool skips the test when an external tool is missing.
func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not on PATH (CI installs the Debian package %s)", name, pkg)
	}
}

// TestPDFText extracts the text with pdftotext: the title and the name
// must come back exactly, diacritics included.
func TestPDFText(t *testing.T) {
	requireTool(t, "pdftotext", "poppler-utils")
	tests := []struct {
		doc  Document
		want []string
	}{
		{sampleDoc(), []string{
			"Nguyễn Văn Đức", "GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19", "COVID-19 VACCINATION CERTIFICATE",
			"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Họ và tên / Name", "Ngày sinh / Date of birth", "1990-04-12",
			"Vắc xin / Vaccine", "Comirnaty", "Mũi / Dose", "2/2", "Ngày tiêm / Date of vaccination",
			"Quốc gia tiêm / Country of vaccination", "Đơn vị cấp / Certificate issuer",
			"Bộ Y tế / Ministry of Health of Viet Nam", "Mã chứng nhận / Certificate identifier",
			"URN:UVCI:01:VN:BYT/2021/000123456#K", "EU Digital COVID Certificate format", "2022-09-02",
		}},
		{testDoc(), []string{"GIẤY CHỨNG NHẬN XÉT NGHIỆM COVID-19", "COVID-19 TEST CERTIFICATE", "Âm tính / Not detected", "Bệnh viện Bạch Mai"}},
		{recoveryDoc(), []string{"GIẤY CHỨNG NHẬN KHỎI BỆNH COVID-19", "COVID-19 RECOVERY CERTIFICATE", "2022-01-15"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.doc.Type), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.pdf")
			if err := os.WriteFile(path, mustRender(t, tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("extracted text lacks %q", w)
				}
			}
		})
	}
}

// TestQRScan rasterises the page at 150 dpi with pdftoppm and decodes it
// with zbarimg: the QR must return the exact HC1 text.
func TestQRScan(t *testing.T) {
	requireTool(t, "pdftoppm", "poppler-utils")
	requireTool(t, "zbarimg", "zbar-tools")
	hc1s := map[string]string{
		"random 554":  hcqrtest.RandomHC1(550, 1),
		"digit run":   "HC1:" + strings.Repeat("0123456789", 3) + hcqrtest.RandomHC1(500, 7)[4:],
		"random 1100": hcqrtest.RandomHC1(1096, 8),
	}
	if _, err := os.Stat(hcqrtest.VectorDir); err == nil {
		for _, f := range []string{"CZ/2DCode/raw/1.json", "common/2DCode/raw/CO2.json"} {
			hc1s[f] = hcqrtest.VectorPrefix(t, filepath.Join(hcqrtest.VectorDir, f))
		}
	} else {
		t.Logf("EU test vectors not found at %s; scanning synthetic payloads only", hcqrtest.VectorDir)
	}
	for name, hc1 := range hc1s {
		t.Run(name, func(t *testing.T) {
			d := sampleDoc()
			d.HC1 = hc1
			dir := t.TempDir()
			pdfPath := filepath.Join(dir, "c.pdf")
			if err := os.WriteFile(pdfPath, mustRender(t, d), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-singlefile", pdfPath, filepath.Join(dir, "c")).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v: %s", err, out)
			}
			out, err := exec.Command("zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", filepath.Join(dir, "c.png")).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != hc1 {
				t.Errorf("scanned %d chars, want the %d-char HC1", len(got), len(hc1))
			}
		})
	}
}

func BenchmarkRenderPDF(b *testing.B) {
	d := sampleDoc()
	if _, err := RenderPDF(d); err != nil { // cut the fonts outside the timing
		b.Fatal(err)
	}
	var size int
	for b.Loop() {
		pdf, err := RenderPDF(d)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pdf")
	b.ReportMetric(float64(size), "bytes/pdf")
}
