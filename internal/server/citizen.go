package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/certdoc"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

func (s *Server) myCertificates(c echo.Context) error {
	cs, err := s.svc.MyCertificates(c.Request().Context(), actor(c).ID)
	if err != nil {
		return err
	}
	out := make([]certificateJSON, len(cs))
	for i, cert := range cs {
		out[i] = citizenCert(cert, false)
	}
	return c.JSON(http.StatusOK, map[string]any{"certificates": out})
}

// Route labels of the image and document forms of GET
// /v1/me/certificates/{uvci}, which share one echo route.
const (
	routeCertPNG = "/v1/me/certificates/:uvci.png"
	routeCertPDF = "/v1/me/certificates/:uvci.pdf"
)

// Cache-Control of certificate images and documents: their content never
// changes for a UVCI, but they hold personal data.
const cachePrivate = "private, max-age=3600"

// myCertificate serves one of the citizen's certificates as JSON (with the
// HC1 text), as the QR code PNG ("{uvci}.png") or as the printable PDF
// ("{uvci}.pdf"). The UVCI must be percent-encoded: its "/" and "#" as
// %2F and %23. Another citizen's UVCI is 404, as an unknown one.
func (s *Server) myCertificate(c echo.Context) error {
	raw, err := url.PathUnescape(c.Param("uvci"))
	form := ""
	for _, suffix := range []string{".png", ".pdf"} {
		if u, ok := strings.CutSuffix(raw, suffix); ok {
			raw, form = u, suffix
		}
	}
	if err != nil || raw == "" || len(raw) > limits.MaxRecordField {
		return newError(http.StatusNotFound, codeNotFound, "no such resource",
			"percent-encode the uvci: / as %2F and # as %23")
	}
	ctx, citizen := c.Request().Context(), actor(c).ID
	switch form {
	case ".png":
		c.Set(keyRoute, routeCertPNG)
		png, err := s.svc.CertificatePNG(ctx, citizen, raw, s.renderQR)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", cachePrivate)
		return c.Blob(http.StatusOK, "image/png", png)
	case ".pdf":
		c.Set(keyRoute, routeCertPDF)
		cert, err := s.svc.MyCertificate(ctx, citizen, raw)
		if err != nil {
			return err
		}
		doc, err := documentOf(cert, s.cfg.ValueSets)
		if err != nil {
			return err
		}
		pdf, err := certdoc.RenderPDF(doc)
		if err != nil {
			return fmt.Errorf("server: failed to render pdf: %w", err)
		}
		h := c.Response().Header()
		h.Set("Cache-Control", cachePrivate)
		h.Set(echo.HeaderContentDisposition, `attachment; filename="vaccination-certificate.pdf"`)
		return c.Blob(http.StatusOK, "application/pdf", pdf)
	}
	cert, err := s.svc.MyCertificate(ctx, citizen, raw)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, citizenCert(cert, true))
}

// ict is Viet Nam's time zone, in which the PDF prints dates.
var ict = time.FixedZone("ICT", 7*60*60)

// errNotVaccination: the PDF renders vaccination certificates only (the
// service issues no other kind).
var errNotVaccination = errors.New("server: not a vaccination certificate")

// documentOf is the printed form of a vaccination certificate, with codes
// resolved to their display names (the code itself when unknown).
func documentOf(c *service.Certificate, vs *schemas.ValueSets) (certdoc.Document, error) {
	d := c.Payload
	if d.Type() != schemas.TypeVaccination || len(d.V) != 1 {
		return certdoc.Document{}, errNotVaccination
	}
	v := d.V[0]
	display := func(set, code string) string {
		if s := vs.Display(set, code); s != "" {
			return s
		}
		return code
	}
	country := display(schemas.SetCountry, v.CO)
	if v.CO == "VN" {
		country = "Việt Nam / Viet Nam"
	}
	iss := v.IS
	if vi := issuerNamesVI[iss]; vi != "" {
		iss = vi + " / " + iss
	}
	std := d.Nam.FNT
	if d.Nam.GNT != "" {
		std += "<<" + d.Nam.GNT
	}
	return certdoc.Document{
		HolderName:    strings.TrimSpace(d.Nam.FN + " " + d.Nam.GN),
		HolderNameStd: std,
		BirthDate:     d.Dob,
		Type:          schemas.TypeVaccination,
		Disease:       display(schemas.SetDisease, v.TG),
		Vaccine:       display(schemas.SetVaccineProduct, v.MP),
		VaccineType:   display(schemas.SetVaccineProphylaxis, v.VP),
		Manufacturer:  display(schemas.SetVaccineMAH, v.MA),
		DoseNumber:    v.DN,
		SeriesDoses:   v.SD,
		DoseDate:      v.DT,
		Country:       country,
		Issuer:        iss,
		UVCI:          v.CI,
		IssuedAt:      c.IssuedAt.In(ict),
		ExpiresAt:     c.ExpiresAt.In(ict),
		HC1:           c.HC1,
	}, nil
}

// correctionRequestJSON is a citizen's correction request.
type correctionRequestJSON struct {
	Kind        service.CorrectionKind `json:"kind"`
	Description string                 `json:"description"`
	Dose        issuer.Dose            `json:"dose"`
	Record      *recordKeyJSON         `json:"record"`
	Person      *personDetailsJSON     `json:"person"`
}

// Multipart parts of a correction request.
const (
	partRequest = "request"
	partPhoto   = "photo"
)

// fileCorrection files a correction request: either application/json (the
// request alone) or multipart/form-data with a "request" part (the same
// JSON) and an optional "photo" part (JPEG or PNG, at most
// limits.MaxPhoto bytes).
func (s *Server) fileCorrection(c echo.Context) error {
	var req correctionRequestJSON
	var photo []byte
	switch mediaType(c) {
	case echo.MIMEApplicationJSON:
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	case echo.MIMEMultipartForm:
		var err error
		if photo, err = readCorrectionParts(c, &req); err != nil {
			return err
		}
	default:
		return errMediaType(echo.MIMEApplicationJSON + " or " + echo.MIMEMultipartForm)
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	cr := service.CorrectionRequest{Kind: req.Kind, Description: req.Description, Dose: req.Dose, Photo: photo}
	if req.Record != nil {
		k := req.Record.key()
		cr.Record = &k
	}
	if req.Person != nil {
		p := req.Person.person()
		cr.Person = &p
	}
	out, err := s.svc.FileCorrectionKey(c.Request().Context(), actor(c).ID, key, cr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, correctionOf(out, false))
}

// readCorrectionParts reads a multipart correction request: exactly one
// "request" part and at most one "photo" part.
func readCorrectionParts(c echo.Context, req *correctionRequestJSON) ([]byte, error) {
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return nil, errMalformedMultipart()
	}
	var photo []byte
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, multipartErr(err)
		}
		name := part.FormName()
		if seen[name] || (name != partRequest && name != partPhoto) {
			return nil, errMalformedMultipart()
		}
		seen[name] = true
		limit := int64(limits.MaxAPIBody)
		if name == partPhoto {
			limit = limits.MaxPhoto
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return nil, multipartErr(err)
		}
		if int64(len(b)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		if name == partPhoto {
			photo = b
			continue
		}
		if err := decodeStrict(bytes.NewReader(b), req); err != nil {
			return nil, err
		}
	}
	if !seen[partRequest] {
		return nil, errInvalid(fieldJSON{Field: partRequest, Code: "missing"})
	}
	return photo, nil
}

func errMalformedMultipart() *apiError {
	return newError(http.StatusBadRequest, codeMalformed, "malformed multipart body",
		`send one "request" part (JSON) and at most one "photo" part`)
}

// multipartErr keeps a body-limit error, else reports a malformed body.
func multipartErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errMalformedMultipart()
}

func (s *Server) myCorrections(c echo.Context) error {
	cs, err := s.svc.MyCorrections(c.Request().Context(), actor(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"corrections": correctionsOf(cs, false)})
}

// issuerNamesVI gives the Vietnamese name of known certificate issuers for
// the bilingual PDF (the issuer name is a deployment setting, vaxcert
// issue/serve --issuer-name).
var issuerNamesVI = map[string]string{"Ministry of Health of Viet Nam": "Bộ Y tế"}
