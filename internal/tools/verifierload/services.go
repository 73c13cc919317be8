package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/logsink"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/server"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// accessLogger writes the access log as the services do (JSON lines,
// batched by logsink with the services' default flush interval) to
// /dev/null: the formatting and the system calls are counted, not a
// terminal's or a log collector's work. (The sink's flushing goroutine
// lives as long as the process.)
func accessLogger() (*slog.Logger, error) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewJSONHandler(logsink.New(f, logsink.DefaultFlush), nil)), nil
}

// serveVerifier serves serve-verifier's handler on a loopback listener
// until ctx ends, over e's checker, synced from the issuer.
func (e *env) serveVerifier(ctx context.Context) (target, error) {
	logger, err := accessLogger()
	if err != nil {
		return target{}, err
	}
	srv, err := verifysvc.New(verifysvc.Config{Checker: e.checker, Sync: e.sync, Rate: verifysvcRate(), Checks: e.checks,
		Logger: logger})
	if err != nil {
		return target{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, err
	}
	go srv.Serve(ctx, ln)
	return target{name: "verifier", addr: ln.Addr().String(), path: "/v1/verify"}, nil
}

// serveIssuer serves the issuer service (serve's handler: SQLite store,
// e's key folder as its signed lists, the default admission limit) on a
// loopback listener until ctx ends; its POST /v1/verify checks against
// its own lists, as a deployment's does.
func (e *env) serveIssuer(ctx context.Context) (target, error) {
	st, err := store.Open(ctx, filepath.Join(e.dir, store.DefaultFile))
	if err != nil {
		return target{}, err
	}
	svc, err := service.New(service.Config{Store: st, Issuer: e.iss})
	if err != nil {
		st.Close()
		return target{}, err
	}
	idp := filepath.Join(e.dir, "identity")
	if err := auth.GenerateDevIdentity(idp); err != nil {
		return target{}, err
	}
	jwks, err := auth.ReadJWKSFile(filepath.Join(idp, auth.DevJWKSFile))
	if err != nil {
		return target{}, err
	}
	citizens, err := auth.NewCitizenVerifier(jwks, auth.WithIssuer("https://idp.invalid"), auth.WithAudience("vaxcert"))
	if err != nil {
		return target{}, err
	}
	checker, err := venue.NewChecker(nil, 0)
	if err != nil {
		return target{}, err
	}
	logger, err := accessLogger()
	if err != nil {
		return target{}, err
	}
	srv, err := server.New(server.Config{Citizens: citizens, Lists: e.pub, Checker: checker,
		VenueRate: verifysvcRate(), Logger: logger}, svc)
	if err != nil {
		return target{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, err
	}
	go func() {
		srv.Serve(ctx, ln)
		svc.Close()
		st.Close()
	}()
	return target{name: "issuer", addr: ln.Addr().String(), path: "/v1/verify"}, nil
}

// serveFloor serves the floor of the HTTP layer: a bare net/http server
// whose one handler reads the body and runs the same Check as the
// services, then writes a fixed answer, with no router, middleware,
// logging, metrics or JSON encoding. No service on net/http can do less
// per request, so its throughput is what net/http and the kernel's
// loopback leave of the library's on these cores with the same clients:
// the yardstick of the services' own overhead.
func (e *env) serveFloor(ctx context.Context) (target, error) {
	answer := []byte(`{"decision":"full"}` + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := netguard.ReadBody(r, limits.MaxVerifyBody)
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if a, _ := e.checker.Check(b, time.Now()); a.Decision != "full" {
			http.Error(w, "not full", http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(answer)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	return target{name: "floor", addr: ln.Addr().String(), path: "/v1/verify"}, nil
}
