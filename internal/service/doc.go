// Package service is the issuer service's domain layer: dose records in,
// certificates out, every step accountable and nothing lost or counted
// twice. It holds no HTTP code: internal/server maps routes onto it.
//
// [New] builds a [Service] from a [store.Store], a [CertIssuer]
// ([*issuer.Issuer]), a clock and a logger. Every method takes a context;
// staff methods also take the authenticated [Actor].
//
// # Actors and permissions
//
// Staff actors come from [Service.LookupToken]; their [auth.Role] must
// allow the method's permission ([auth.Role.Allows]):
//
//	upload    (uploader)            SubmitRecord, IngestBatch — own site's records only
//	finalise  (finaliser)           Finalise, FinaliseBatch
//	finalise or review-corrections  AmendRecord, VoidRecord, AmendPerson, ListReviewQueue,
//	                                ResolveReview, FindPerson, PersonRecords
//	issue     (finaliser)           IssueFor, StartIssueAll, Job; PersonCertificates (or review)
//	review-corrections (reviewer)   ListCorrections, CorrectionPhoto, DecideCorrection
//	read-audit (admin)              ListAudit; RecordHistory (or finalise, review, own-site uploader)
//	manage-tokens (admin)           CreateToken, RevokeToken, ListTokens
//
// Citizens are identified by the verified subject of their identity-provider
// token (the national ID number) and use MyCertificates, MyCertificate,
// CertificatePNG, FileCorrection and MyCorrections. Another citizen's
// certificate is [ErrNotFound], never [ErrForbidden]. ListRevocations and
// Stats are public. An [ActorSystem] actor may do everything; it is for the
// command line (creating the first admin token), never for requests.
//
// # Records
//
// A dose record ([DoseRecord]) is keyed by the reporting site and the
// site's record id ([RecordKey]) and versioned: every change writes a new
// version, the previous one stays in [Service.RecordHistory]. Status is
// draft, finalised or [StatusVoid]. Persons are known by a surrogate key
// (int64) everywhere; [Service.FindPerson] maps a national ID number to it.
//
// Intake ([Service.SubmitRecord], [Service.IngestBatch]) is idempotent by
// (site, record_id): the same row again is duplicate_of_existing (or
// already_stored_by_this_batch when the same upload stored it); a draft
// with new content gets a new version; a finalised record with new content
// is rejected ([ErrImmutable]) and changes only through
// [Service.AmendRecord] (reason required) or [Service.VoidRecord]. The
// same shot — person, product, lot, date, dose number — reported under two
// record keys (two sites syncing the same vaccination) is stored and
// merged (merged_with_other_site): linked to the canonical (first) record
// and counted once. The copies are one logical shot: amending or voiding
// any of them applies to all, and [Service.RecordHistory] shows every
// copy's versions. Bulk uploads are NDJSON (one [issuer.Record] per line)
// or CSV ([CSVColumns]), streamed in constant memory, at most
// limits.MaxBatchRows rows of at most limits.MaxBatchLine bytes, committed
// in transactions that start small (64 doses) and grow to 4,000, with a
// [RowResult] per dose reported as each transaction commits ([Outcome],
// [Note], field errors as [issuer.FieldError]; [Code] gives the API code).
//
// Uploads, single record posts and correction requests take an
// idempotency key ([IngestOptions], [Service.SubmitRecordKey],
// [Service.FileCorrectionKey]): a request sent again with the same key is
// applied at most once, continuing where an interrupted one stopped, and
// [Service.Batch] returns an upload's stored outcome, per row, also after
// a restart. Each transaction first locks the upload's batch row, then the
// persons in id order, and inserts new persons in national-ID order with
// ON CONFLICT DO NOTHING, so that concurrent uploads of the same persons
// neither deadlock nor abort each other; a lock or serialization failure
// that outlasts the store's retries is [ErrBusy] (HTTP 503, Retry-After).
//
// Records are validated with issuance's own rules (issuer.BuildPayload:
// required fields, formats, value sets, dates), plus: national ID shaped
// like a CCCD or CMND number, no dose in the future, bounded site, record id
// and lot. An uploader's "finalised" row is finalised only for a site an
// admin allowed to finalise at the source ([Service.SetSitePermission]);
// otherwise it is stored as a draft ([NoteStoredAsDraft]).
//
// A person's names and birth date follow the uploads only while every
// record of theirs is a draft of the uploading site; after that, and
// always for another site, an upload never changes them. Names that
// differ only in diacritics or case (same ICAO transliteration, same birth
// date) are the same person ([NoteNameVariant]); any other difference is
// stored as an identity claim ([Service.IdentityClaims],
// [NoteIdentityReview]) that opens the person's review and blocks issuance
// until a reviewer decides with [Service.AmendPerson].
//
// # Contradictions and reviews
//
// After every change the person's finalised records are re-evaluated in
// the same transaction. Two finalised shots claiming one dose number, or a
// dose dated before a lower-numbered one, put the person in the review
// queue ([Service.ListReviewQueue]) and block issuance ([ErrContradictory])
// — the service never picks one — and the person's current certificate is
// revoked ([ReasonUnderReview]): nobody shows a status the records no
// longer support. [Service.ResolveReview] amends or voids a record; the
// review closes when the records agree (and no identity claim is open),
// and the person is issued again.
//
// # Issuance
//
// [Service.IssueFor] builds the certificate from the person's finalised
// records, each shot once. It is idempotent: the payload's hash (its
// deterministic CBOR, UVCI left out) is compared with the current
// certificate's, and an unchanged content returns the current certificate
// without signing. A new certificate becomes current in the same
// transaction that supersedes the old one and revokes its UVCI
// ([ReasonCorrected]); a person without finalised records has their
// certificate revoked ([ReasonWithdrawn]). A unique index keeps exactly one
// current certificate per person. [Service.ListRevocations] lists
// revocations.
//
// Every change to a person's finalised records puts them in a
// pending-issuance queue in the same transaction. [Service.StartIssueAll]
// works through that queue in the background — streaming, in chunks,
// signing on every core while the previous chunk is written — and
// [Service.Job] reports its [JobStatus] (done, issued, blocked, failed,
// rate, ETA). A person leaves the queue in the transaction that stores
// their certificate, so a job stopped by a crash is resumed by starting
// another one; persons issued again with unchanged records keep their
// certificates. One batch issuance runs at a time ([ErrConflict]); a job
// whose heartbeat (moved by every committed chunk) has stood still for 15
// seconds counts as interrupted, so a restarted server resumes within 15
// seconds of the crash.
//
// The issuer derives UVCIs from the issuing second, the certificate content
// and the number of certificates the person had before (the revision), so
// content that comes back to an earlier state (a correction reverted) gets
// a new UVCI, and a revoked UVCI is never issued again. UVCIs issued
// together sort together, which keeps the store's UVCI and audit-subject
// indexes local (issuer.DeriveUVCI). [ErrUVCIReused] remains as a last
// guard: the person stays pending. The batch job on PostgreSQL leaves that
// check to the unique index of the UVCIs: a collision (two certificates
// of one second whose 51-bit HMACs agree) aborts its chunk, which runs
// again with the UVCIs looked up first. A chunk the database refuses for
// any other reason ends the job as [JobFailed], with the error.
//
// # Citizens, corrections
//
// [Service.CertificatePNG] renders a certificate's QR code once and serves
// the stored image afterwards. Citizens file correction requests
// ([Service.FileCorrection]: wrong or missing dose, paper-card details, an
// optional JPEG or PNG photo); a reviewer's [Service.DecideCorrection]
// amends the record, or adds the missing dose as a finalised record in the
// reviewer's name, in the decision's transaction, then re-issues.
//
// # Audit, logs and metrics
//
// Every upload, record change, review, issuance, revocation, correction,
// token change and job is written to the audit trail ([AuditEntry],
// [Service.ListAudit]) in the transaction of the change: actor, time,
// action, subject as opaque ids ("dose:<site>/<record_id>",
// "person:<key>", "cert:<uvci>", …) and before/after metadata. Citizens
// appear by person key. Neither the audit trail, nor log lines, nor error
// messages carry names, birth dates or national ID numbers. [Service.Stats]
// returns the counters to publish (certificates issued, queue depth), read
// from counters the store's write transactions keep, not by counting
// tables; [Service.Ping] is the readiness check's.
//
// # Concurrency and performance
//
// A Service is safe for concurrent use; [Service.Close] stops background
// jobs. Measured on the 2-core development machine (see perf_test.go;
// [WriteSyntheticNDJSON] makes test uploads): SQLite ingests about 28,000
// dose records/s (1M records) and issues about 13,500 ES256 certificates/s
// with the real issuer; PostgreSQL about 23,000 records/s and 9,500
// certificates/s.
package service
