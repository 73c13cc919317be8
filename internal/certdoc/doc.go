// Package certdoc renders the citizen's printable certificate: a one-page A4
// PDF, bilingual Vietnamese/English, with the HC1 QR code. [RenderPDF] takes
// a [Document] of display strings and returns the PDF bytes.
//
// # Layout
//
// The national header, a bilingual title for the certificate type
// (vaccination, test or recovery) and the "EU Digital COVID Certificate
// format" note; the holder's name and date of birth beside the QR code; a
// table of the type-specific details; the certificate details (issuer, UVCI,
// issue date, QR expiry); notes on verification and privacy at the foot.
// Long field values wrap and, when needed, print in a smaller type (down to
// 70 %) so the page never overflows; a Document that still does not fit
// fails with [ErrTooMuchText].
//
// # QR code
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md §4.2.2
//
//   - One alphanumeric-mode segment ("The Alphanumeric (Mode 2/QR Code
//     symbols 0010) MUST be used"), built by the one QR encoder of vaxcert, internal/hcqr (rsc.io/qr/coding).
//     skip2/go-qrcode is not used: it emits a numeric segment for a run of
//     15 or more digits (rare in Base45, about 1 in 10 million payloads,
//     but not excluded).
//   - Error correction Q (recommended), the smallest version that fits, the
//     mask of lowest ISO/IEC 18004 penalty.
//   - Drawn as vector rectangles, black on white, with a 4-module quiet
//     zone; each module is exactly square. The symbol is 42 mm wide
//     (slightly less after rounding the module to the 0.01 pt grid): a
//     59.4 mm diagonal, inside the recommended 35-60 mm.
//
// # Fonts
//
// DejaVu Sans regular and bold from github.com/go-fonts/dejavu, cut once
// per process to the Latin and Vietnamese repertoire and embedded as
// TrueType subsets. Text is NFC-normalised; characters outside the
// repertoire are rejected rather than printed as blank boxes.
//
// # Determinism
//
// The PDF creation and modification dates come from Document.IssuedAt and
// nothing random is written, so the same Document always yields the same
// bytes (cacheable, comparable in tests).
//
// # Security considerations
//
// The PDF holds personal data (name, date of birth); the PDF metadata does
// not (the title is the generic certificate title). Errors name the
// offending field but never carry its value. The printed text is for people;
// only the signed QR code proves anything, and the notes on the page say so.
//
// # Concurrency
//
// RenderPDF is safe for concurrent use.
package certdoc
