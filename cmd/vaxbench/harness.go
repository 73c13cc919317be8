package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/server"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/issuing"
)

// The throwaway deployment's constants.
const (
	benchSite   = "BENCH-01"
	idpIssuer   = "https://id.vaxbench.invalid"
	idpAudience = "vaxcert-issuer"
	// firstID is the national ID number of the first synthetic person
	// ("001000000000"); the others follow.
	firstID = int64(1_000_000_000)
)

// unlimited lifts the server's per-client rate limits for the benchmark.
var unlimited = server.Rate{PerSecond: 1e6, Burst: 1e6}

// benchActor creates the staff tokens.
var benchActor = service.Actor{Kind: service.ActorSystem, ID: "vaxbench"}

// harness is a running throwaway deployment: keys, identity provider,
// database, service and the HTTP API on a loopback port.
type harness struct {
	engine string
	base   string // "http://127.0.0.1:port"
	dir    string
	http   *http.Client
	iss    *issuer.Issuer
	devKey []byte
	// uploader (bound to benchSite) and finaliser staff tokens.
	uploader, finaliser string
	// cpu watches the database backends' CPU time (nil on SQLite).
	cpu     *backendCPU
	closers []func() error
}

// startHarness sets up a deployment on SQLite in a temporary folder, or on
// a fresh schema of the PostgreSQL database at pgURL, whose server sheds
// load with the target shed (server.Config.ShedTarget: 0 its default,
// negative none). Without shedding there is no admission limit either:
// the measurements other than the surge measure what the service serves,
// as they do without rate limits (the surge measures what it refuses).
func startHarness(ctx context.Context, pgURL string, shed time.Duration) (h *harness, err error) {
	h = &harness{engine: "sqlite", http: &http.Client{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.close())
		}
	}()
	if h.dir, err = os.MkdirTemp("", "vaxbench-"); err != nil {
		return h, fmt.Errorf("failed to create the data folder: %w", err)
	}
	h.closers = append(h.closers, func() error { return os.RemoveAll(h.dir) })

	csca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN"})
	if err != nil {
		return h, err
	}
	dsc, err := csca.IssueDSC(issuing.DSCOptions{})
	if err != nil {
		return h, err
	}
	secret := make([]byte, issuer.MinUVCISecretLen)
	rand.Read(secret)
	if h.iss, err = issuer.New(dsc.Signer(), dsc.Cert, issuer.WithIssuerName("Ministry of Health of Viet Nam"),
		issuer.WithUVCISecret(secret)); err != nil {
		return h, err
	}

	url := filepath.Join(h.dir, store.DefaultFile)
	if pgURL != "" {
		h.engine = "postgres"
		var drop func() error
		if url, drop, err = freshSchema(ctx, pgURL); err != nil {
			return h, err
		}
		h.closers = append(h.closers, drop)
		url += "&application_name=" + appName
		if h.cpu, err = newBackendCPU(url); err != nil {
			return h, err
		}
		h.closers = append(h.closers, h.cpu.close)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return h, err
	}
	h.closers = append(h.closers, st.Close)
	svc, err := service.New(service.Config{Store: st, Issuer: h.iss})
	if err != nil {
		return h, err
	}
	h.closers = append(h.closers, svc.Close)

	idp := filepath.Join(h.dir, "identity")
	if err := auth.GenerateDevIdentity(idp); err != nil {
		return h, err
	}
	if h.devKey, err = os.ReadFile(filepath.Join(idp, auth.DevKeyFile)); err != nil {
		return h, err
	}
	jwks, err := auth.ReadJWKSFile(filepath.Join(idp, auth.DevJWKSFile))
	if err != nil {
		return h, err
	}
	citizens, err := auth.NewCitizenVerifier(jwks, auth.WithIssuer(idpIssuer), auth.WithAudience(idpAudience))
	if err != nil {
		return h, err
	}
	inFlight := 0 // the default admission limit
	if shed < 0 {
		inFlight = -1
	}
	srv, err := server.New(server.Config{Citizens: citizens, ShedTarget: shed, MaxInFlight: inFlight,
		StaffRate: unlimited, CitizenRate: unlimited, AnonymousRate: unlimited, VenueRate: unlimited}, svc)
	if err != nil {
		return h, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return h, fmt.Errorf("failed to listen on loopback: %w", err)
	}
	h.base = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	h.closers = append(h.closers, func() error { cancel(); return <-served })

	// Finalised uploads count at once only for a site that may finalise at
	// the source.
	if _, err := svc.SetSitePermission(ctx, benchActor, benchSite, true); err != nil {
		return h, err
	}
	if h.uploader, _, err = svc.CreateToken(ctx, benchActor, auth.RoleUploader, benchSite, "vaxbench uploader"); err != nil {
		return h, err
	}
	if h.finaliser, _, err = svc.CreateToken(ctx, benchActor, auth.RoleFinaliser, "", "vaxbench finaliser"); err != nil {
		return h, err
	}
	return h, nil
}

// close stops the server and removes everything the harness created, in
// reverse order.
func (h *harness) close() error {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		errs = append(errs, h.closers[i]())
	}
	h.closers = nil
	return errors.Join(errs...)
}

// citizenToken mints the development identity provider's JWT for the
// synthetic person i (0-based), valid for ttl.
func (h *harness) citizenToken(i int, ttl time.Duration) (string, error) {
	return auth.MintDevToken(h.devKey, nationalID(i), idpIssuer, idpAudience, ttl, time.Now())
}

// nationalID is the national ID number of the synthetic person i, as
// service.WriteSyntheticNDJSON numbers them from firstID.
func nationalID(i int) string { return fmt.Sprintf("%012d", firstID+int64(i)) }

// freshSchema creates a schema with a random name in the PostgreSQL
// database at base and returns a URL that uses it, and a function that
// drops it.
func freshSchema(ctx context.Context, base string) (url string, drop func() error, err error) {
	var b [6]byte
	rand.Read(b[:])
	schema := "vaxbench_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("failed to connect to PostgreSQL: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("failed to create a schema: %w", err)
	}
	drop = func() error {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE")
		if err != nil {
			err = fmt.Errorf("failed to drop schema %s: %w", schema, err)
		}
		return errors.Join(err, db.Close())
	}
	return withSearchPath(base, schema), drop, nil
}

// withSearchPath adds the search_path parameter to a PostgreSQL URL.
func withSearchPath(base, schema string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
