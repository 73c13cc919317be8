package certdoc

import (
	"bytes"
	"fmt"
	"math"

	"github.com/go-pdf/fpdf"

	"github.com/vaxcert/vaxcert/schemas"
)

// Page layout, in millimetres on A4 portrait (210 x 297).
const (
	pageW     = 210.0
	pageH     = 297.0
	marginX   = 18.0
	contentW  = pageW - 2*marginX
	footerTop = pageH - 30.0 // the notes block is anchored here

	// qrSide is the side of the QR symbol without its quiet zone. The HCERT
	// specification recommends a rendered diagonal of 35-60 mm for readers
	// with fixed optics; 42 mm gives a 59.4 mm diagonal. The module size is
	// rounded down to 0.01 pt, so every module is exactly square and on the
	// PDF coordinate grid; that takes under 0.7 mm off the side.
	qrSide = 42.0
	// qrQuiet is the quiet zone around the symbol, in modules (ISO/IEC 18004).
	qrQuiet = 4
	// qrBoxW is the width of the right-hand column that holds the QR code.
	qrBoxW = 52.0

	labelW = 74.0 // label column of the full-width detail rows

	ptPerMM = 72 / 25.4
)

// Colours (RGB).
var (
	colText  = [3]int{0, 0, 0}
	colLabel = [3]int{85, 85, 85}
	colTitle = [3]int{16, 52, 110}
	colBand  = [3]int{228, 235, 245}
	colRule  = [3]int{170, 170, 170}
)

// Labels and fixed text, Vietnamese first.
const (
	nationVI   = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
	mottoVI    = "Độc lập - Tự do - Hạnh phúc"
	nationEN   = "SOCIALIST REPUBLIC OF VIET NAM - Independence - Freedom - Happiness"
	formatNote = "Định dạng Chứng nhận COVID kỹ thuật số của EU / EU Digital COVID Certificate format"

	secHolder = "NGƯỜI ĐƯỢC CHỨNG NHẬN / CERTIFICATE HOLDER"
	secCert   = "THÔNG TIN CHỨNG NHẬN / CERTIFICATE DETAILS"

	lblName      = "Họ và tên / Name"
	lblNameStd   = "Họ và tên chuẩn hóa / Standardised name"
	lblBirth     = "Ngày sinh / Date of birth"
	lblDisease   = "Bệnh / Disease or agent targeted"
	lblCountry   = "Quốc gia / Country"
	lblIssuer    = "Đơn vị cấp / Certificate issuer"
	lblUVCI      = "Mã chứng nhận / Certificate identifier"
	lblIssued    = "Ngày cấp / Issued on"
	lblExpires   = "Mã QR có hiệu lực đến / QR code valid until"
	qrCaptionVI  = "Quét mã QR để xác thực"
	qrCaptionEN  = "Scan the QR code to verify"
	noteVerifyVI = "Mã QR mang chữ ký số của đơn vị cấp. Chứng nhận chỉ có giá trị khi mã QR được xác thực bằng ứng dụng kiểm tra. Giấy này chứa dữ liệu cá nhân: chỉ xuất trình khi được yêu cầu."
	noteVerifyEN = "The QR code carries the issuer's digital signature. The certificate is valid only when its QR code is verified with a verifier app. This document holds personal data: show it only when asked."
)

// typeText is the title and detail-section heading for each certificate type.
var typeText = map[schemas.CertType]struct{ titleVI, titleEN, section string }{
	schemas.TypeVaccination: {"GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19", "COVID-19 VACCINATION CERTIFICATE", "THÔNG TIN TIÊM CHỦNG / VACCINATION DETAILS"},
	schemas.TypeTest:        {"GIẤY CHỨNG NHẬN XÉT NGHIỆM COVID-19", "COVID-19 TEST CERTIFICATE", "THÔNG TIN XÉT NGHIỆM / TEST DETAILS"},
	schemas.TypeRecovery:    {"GIẤY CHỨNG NHẬN KHỎI BỆNH COVID-19", "COVID-19 RECOVERY CERTIFICATE", "THÔNG TIN KHỎI BỆNH / RECOVERY DETAILS"},
}

// row is one label/value pair of a detail section.
type row struct{ label, value string }

// details returns the type-specific rows; optional empty ones are left out.
func (d *Document) details() []row {
	var rows []row
	add := func(label, value string) {
		if value != "" {
			rows = append(rows, row{label, value})
		}
	}
	add(lblDisease, d.Disease)
	switch d.Type {
	case schemas.TypeVaccination:
		add("Loại vắc xin / Vaccine type", d.VaccineType)
		add("Vắc xin / Vaccine", d.Vaccine)
		add("Nhà sản xuất / Manufacturer", d.Manufacturer)
		add("Mũi / Dose", d.dose())
		add("Ngày tiêm / Date of vaccination", d.DoseDate)
		add("Quốc gia tiêm / Country of vaccination", d.Country)
	case schemas.TypeTest:
		add("Loại xét nghiệm / Type of test", d.TestType)
		add("Tên xét nghiệm / Test name", d.TestName)
		add("Nhà sản xuất / Test manufacturer", d.Manufacturer)
		add("Thời điểm lấy mẫu / Sample collected", d.SampleTime)
		add("Kết quả / Test result", d.TestResult)
		add("Cơ sở xét nghiệm / Testing centre", d.TestCentre)
		add("Quốc gia xét nghiệm / Country of test", d.Country)
	case schemas.TypeRecovery:
		add("Ngày xét nghiệm dương tính đầu tiên / Date of first positive test", d.FirstPositive)
		add(lblCountry, d.Country)
		add("Có giá trị từ / Valid from", d.ValidFrom)
		add("Có giá trị đến / Valid until", d.ValidUntil)
	}
	return rows
}

// page wraps the fpdf document with the few drawing helpers the layout uses.
type page struct {
	*fpdf.Fpdf
	y     float64 // current top of the flowing content
	scale float64 // type size factor of the field values
}

// fieldScales are the type size factors of the field values tried, largest
// first, until the holder and detail fields fit the page: long values shrink
// rather than spill onto a second page.
var fieldScales = []float64{1, 0.9, 0.8, 0.7}

// render lays out the validated document d with QR matrix m at the largest
// field scale that fits.
func render(d *Document, m [][]bool) ([]byte, error) {
	for _, scale := range fieldScales {
		pdf, fits := layout(d, m, scale)
		if !fits {
			continue
		}
		var buf bytes.Buffer
		if err := pdf.Output(&buf); err != nil {
			return nil, fmt.Errorf("certdoc: failed to write pdf: %v", err)
		}
		return buf.Bytes(), nil
	}
	return nil, ErrTooMuchText
}

// layout draws the page and reports whether the content fits above the
// notes.
func layout(d *Document, m [][]bool, scale float64) (*fpdf.Fpdf, bool) {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetCreationDate(d.IssuedAt)
	pdf.SetModificationDate(d.IssuedAt)
	pdf.SetCatalogSort(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(marginX, 0, marginX)
	pdf.SetCellMargin(0)
	pdf.SetLang("vi")
	tt := typeText[d.Type]
	pdf.SetTitle(tt.titleVI+" / "+tt.titleEN, true) // no personal data in metadata
	pdf.SetCreator("vaxcert", false)
	addFonts(pdf)
	pdf.AddPage()
	p := &page{Fpdf: pdf, y: 14, scale: scale}

	// National header, title and format note.
	p.centered(nationVI, "B", 11, colText)
	p.centered(mottoVI, "B", 10.5, colText)
	p.SetDrawColor(colText[0], colText[1], colText[2])
	p.SetLineWidth(0.3)
	p.Line(pageW/2-25, p.y+1, pageW/2+25, p.y+1)
	p.y += 2.5
	p.centered(nationEN, "", 7.5, colLabel)
	p.y += 5
	p.centered(tt.titleVI, "B", 16, colTitle)
	p.centered(tt.titleEN, "B", 12.5, colTitle)
	p.y += 1
	p.centered(formatNote, "", 8, colLabel)
	p.y += 3

	// Holder block on the left, QR code on the right.
	top := p.y
	leftW := contentW - qrBoxW - 6
	p.band(marginX, leftW, secHolder)
	if d.HolderName != "" {
		p.stacked(marginX, leftW, lblName, d.HolderName, 13)
	}
	if d.HolderNameStd != "" {
		p.stacked(marginX, leftW, lblNameStd, d.HolderNameStd, 10.5)
	}
	birth := d.BirthDate
	if birth == "" {
		birth = "-"
	}
	p.stacked(marginX, leftW, lblBirth, birth, 10.5)
	leftBottom := p.y
	p.y = top
	p.qr(pageW-marginX-qrBoxW, m)
	p.y = math.Max(p.y, leftBottom) + 4

	// Type-specific details, then the certificate details.
	p.band(marginX, contentW, tt.section)
	for _, r := range d.details() {
		p.row(r.label, r.value)
	}
	p.y += 4
	p.band(marginX, contentW, secCert)
	p.row(lblIssuer, d.Issuer)
	p.row(lblUVCI, d.UVCI)
	p.row(lblIssued, d.IssuedAt.Format("2006-01-02"))
	p.row(lblExpires, d.ExpiresAt.Format("2006-01-02"))
	if p.y > footerTop-3 {
		return nil, false
	}

	// Notes, anchored at the bottom.
	p.y = footerTop
	p.SetDrawColor(colRule[0], colRule[1], colRule[2])
	p.SetLineWidth(0.2)
	p.Line(marginX, p.y, pageW-marginX, p.y)
	p.y += 2
	p.paragraph(noteVerifyVI, "", 7.5, colLabel)
	p.y += 1
	p.paragraph(noteVerifyEN, "", 7.5, colLabel)

	return pdf, true
}

// lineH is the line height in mm for a font size in points.
func lineH(size float64) float64 { return size / ptPerMM * 1.3 }

func (p *page) setFont(style string, size float64, c [3]int) {
	p.SetFont(fontFamily, style, size)
	p.SetTextColor(c[0], c[1], c[2])
}

// centered writes one centred line across the content width.
func (p *page) centered(text, style string, size float64, c [3]int) {
	p.setFont(style, size, c)
	p.SetXY(marginX, p.y)
	p.CellFormat(contentW, lineH(size), text, "", 0, "C", false, 0, "")
	p.y += lineH(size)
}

// paragraph writes wrapped text across the content width.
func (p *page) paragraph(text, style string, size float64, c [3]int) {
	p.text(marginX, contentW, text, style, size, c, "L")
}

// text writes text wrapped to width w at x, advancing p.y.
func (p *page) text(x, w float64, text, style string, size float64, c [3]int, align string) {
	p.setFont(style, size, c)
	for _, line := range p.SplitText(text, w) {
		p.SetXY(x, p.y)
		p.CellFormat(w, lineH(size), line, "", 0, align, false, 0, "")
		p.y += lineH(size)
	}
}

// band writes a section heading on a tinted band.
func (p *page) band(x, w float64, title string) {
	const h = 6.5
	p.SetFillColor(colBand[0], colBand[1], colBand[2])
	p.Rect(x, p.y, w, h, "F")
	p.setFont("B", 9, colTitle)
	p.SetXY(x+2, p.y)
	p.CellFormat(w-4, h, title, "", 0, "L", false, 0, "")
	p.y += h + 1.5
}

// stacked writes a small label with its value below, then a thin rule.
func (p *page) stacked(x, w float64, label, value string, size float64) {
	p.text(x+2, w-4, label, "", 8, colLabel, "L")
	p.text(x+2, w-4, value, "B", size*p.scale, colText, "L")
	p.y += 1
	p.rule(x, w)
	p.y += 1.5
}

// row writes a full-width label | value row, then a thin rule.
func (p *page) row(label, value string) {
	top := p.y + 1
	p.y = top
	p.text(marginX+2, labelW-4, label, "", 8.5, colLabel, "L")
	bottom := p.y
	p.y = top
	p.text(marginX+labelW, contentW-labelW-2, value, "B", 10*p.scale, colText, "L")
	p.y = math.Max(p.y, bottom) + 1
	p.rule(marginX, contentW)
}

func (p *page) rule(x, w float64) {
	p.SetDrawColor(colRule[0], colRule[1], colRule[2])
	p.SetLineWidth(0.15)
	p.Line(x, p.y, x+w, p.y)
}

// qr draws the QR matrix m, black on white, centred in the right-hand column
// at x, with its quiet zone and a caption, advancing p.y. Dark modules are
// filled rectangles, one per horizontal run, so no hairline seams appear
// between adjacent modules.
func (p *page) qr(x float64, m [][]bool) {
	n := len(m)
	modPt := math.Floor(qrSide*ptPerMM/float64(n)*100) / 100
	mod := modPt / ptPerMM
	outer := float64(n+2*qrQuiet) * mod
	ox := roundPt(x + (qrBoxW-outer)/2)
	oy := roundPt(p.y)
	// The quiet zone is white; a light frame outside it marks the code.
	p.SetDrawColor(colRule[0], colRule[1], colRule[2])
	p.SetLineWidth(0.2)
	p.Rect(ox-0.5, oy-0.5, outer+1, outer+1, "D")
	p.SetFillColor(0, 0, 0)
	sx, sy := ox+qrQuiet*mod, oy+qrQuiet*mod
	for y, line := range m {
		for x0 := 0; x0 < n; {
			if !line[x0] {
				x0++
				continue
			}
			x1 := x0
			for x1 < n && line[x1] {
				x1++
			}
			p.Rect(sx+float64(x0)*mod, sy+float64(y)*mod, float64(x1-x0)*mod, mod, "F")
			x0 = x1
		}
	}
	p.y = oy + outer + 2.5
	p.text(x, qrBoxW, qrCaptionVI, "", 7.5, colLabel, "C")
	p.text(x, qrBoxW, qrCaptionEN, "", 7.5, colLabel, "C")
}

// roundPt rounds a position in mm to the 0.01 pt grid of the PDF output.
func roundPt(mm float64) float64 { return math.Round(mm*ptPerMM*100) / 100 / ptPerMM }
