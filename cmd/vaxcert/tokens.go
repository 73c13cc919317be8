package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
)

const tokensUsage = `Usage:
    vaxcert tokens create --role ROLE [--site SITE] --name NAME [--data ./data | --db URL]
    vaxcert tokens list [--data ./data | --db URL]
    vaxcert tokens revoke ID [--data ./data | --db URL]

Manage the issuer service's staff API tokens directly in its database, with
or without the service running: this is how a ministry creates the first
admin token (vaxcert serve refuses to start without any token). A new
token is printed once, on standard output; only its SHA-256 is stored, so
it cannot be shown again: put it in a password manager, or revoke it and
create another. Every change is in the audit trail.

Flags:
    --data DIR     the service's data folder (default ./data): the SQLite
                   database DIR/vaxcert.db
    --db URL       the database instead: postgres://user@host/db or a SQLite
                   file (what "vaxcert serve --db" is given)
    --role ROLE    uploader (one site's records), finaliser (finalise and
                   issue), reviewer (corrections, review queue) or admin
                   (tokens, audit)
    --site SITE    the site code of an uploader token (uploaders only)
    --name NAME    a label for people: who or what holds the token

Example:
    $ vaxcert tokens create --role admin --name "MoH operations" --db postgres://vaxcert@db/vaxcert
    vxs_...
    $ vaxcert tokens list --db postgres://vaxcert@db/vaxcert
    $ vaxcert tokens revoke tok_0123456789abcdef --db postgres://vaxcert@db/vaxcert
`

// tokensActor is the audit actor of the tokens command.
var tokensActor = service.Actor{Kind: service.ActorSystem, ID: "vaxcert-tokens"}

func runTokens(e *env, args []string) error {
	if len(args) == 0 {
		return commandUsageError("tokens", errors.New("tokens needs a subcommand: create, list or revoke"))
	}
	sub, args := args[0], args[1:]
	flags := newFlagSet("tokens")
	data := flags.String("data", "data", "")
	dbURL := flags.String("db", "", "")
	var role, site, name *string
	if sub == "create" {
		role = flags.String("role", "", "")
		site = flags.String("site", "", "")
		name = flags.String("name", "", "")
	}
	switch sub {
	case "create", "list", "revoke":
	default:
		return commandUsageError("tokens", fmt.Errorf("unknown subcommand %q: create, list or revoke", sub))
	}
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case sub == "revoke" && len(pos) != 1:
		return commandUsageError("tokens", errors.New("tokens revoke takes one token id (tok_…, see tokens list)"))
	case sub != "revoke" && len(pos) > 0:
		return commandUsageError("tokens", fmt.Errorf("unexpected argument %q", pos[0]))
	case sub == "create" && *role == "":
		return commandUsageError("tokens", errors.New("--role is required: uploader, finaliser, reviewer or admin"))
	case sub == "create" && *name == "":
		return commandUsageError("tokens", errors.New("--name is required: who or what holds the token"))
	}
	ctx := context.Background()
	st, err := openStore(ctx, *data, *dbURL, sub == "create")
	if err != nil {
		return err
	}
	defer st.Close()
	tokens := service.NewTokens(st, now)
	switch sub {
	case "create":
		r, err := auth.ParseRole(*role)
		if err != nil {
			return commandUsageError("tokens", fmt.Errorf("--role %q: want uploader, finaliser, reviewer or admin", *role))
		}
		plain, t, err := tokens.Create(ctx, tokensActor, r, *site, *name)
		var ve *service.ValidationError
		if errors.As(err, &ve) {
			return withHint(err, "an uploader token needs --site, other roles none; --name is a label of at most "+
				"a few dozen characters, without control characters")
		}
		if err != nil {
			return withHint(err)
		}
		fmt.Fprintln(e.stdout, plain)
		fmt.Fprintf(e.stderr, "vaxcert: created %s (%s%s). The token above is shown only this once: store it now.\n"+
			"vaxcert: đã tạo %s. Token ở trên chỉ hiển thị một lần: hãy lưu lại ngay.\n", t.ID, t.Role, siteSuffix(t.Site), t.ID)
		return nil
	case "list":
		ts, err := tokens.List(ctx, tokensActor)
		if err != nil {
			return withHint(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tROLE\tSITE\tCREATED\tREVOKED\tNAME")
		for _, t := range ts {
			revoked := "-"
			if !t.RevokedAt.IsZero() {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(t.ID), t.Role, orDash(printable(t.Site)),
				t.CreatedAt.UTC().Format(time.RFC3339), revoked, printable(t.Name))
		}
		return w.Flush()
	default: // revoke
		err := tokens.Revoke(ctx, tokensActor, pos[0])
		if errors.Is(err, service.ErrNotFound) {
			return withHint(errors.New("no token has this id / không có token nào có mã này"),
				`list the tokens with "vaxcert tokens list" (ids start with tok_)`)
		}
		if err != nil {
			return withHint(err)
		}
		fmt.Fprintf(e.stderr, "vaxcert: revoked %s / đã thu hồi %s\n", printable(pos[0]), printable(pos[0]))
		return nil
	}
}

func siteSuffix(site string) string {
	if site == "" {
		return ""
	}
	return ", site " + site
}

// openStore opens the service's database: dbURL, or else the SQLite file
// in the data folder. With create, the folder and database are created
// when missing; otherwise a missing SQLite file is an error (a mistyped
// --data), not a new empty database.
func openStore(ctx context.Context, data, dbURL string, create bool) (*store.Store, error) {
	if dbURL == "" {
		dbURL = filepath.Join(data, store.DefaultFile)
		if create {
			if err := os.MkdirAll(data, 0o700); err != nil {
				return nil, withHint(err)
			}
		} else if _, err := os.Stat(dbURL); errors.Is(err, fs.ErrNotExist) {
			return nil, withHint(fmt.Errorf("no database at %s / không có cơ sở dữ liệu tại %s", dbURL, dbURL),
				"pass the data folder the service runs with (--data DIR) or its database (--db URL)")
		}
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, withHint(err, "--db takes postgres://… or the path of a SQLite file")
	}
	return st, nil
}

// noTokensError is serve's refusal to start with no usable staff token:
// nobody could upload, finalise or manage anything.
func noTokensError(data, dbURL string) error {
	where := "--data " + shellQuote(data)
	if dbURL != "" {
		where = "--db " + shellQuote(dbURL)
	}
	return withHint(errors.New("the database holds no staff token that is not revoked, so nobody could use the service / "+
		"cơ sở dữ liệu chưa có token nhân viên nào còn hiệu lực, nên không ai dùng được dịch vụ"),
		"create the first admin token, then start the service again / tạo token quản trị đầu tiên rồi khởi động lại:",
		"  vaxcert tokens create --role admin --name \"MoH operations\" "+where,
		"with it, an admin creates the other tokens (POST /v1/tokens, or vaxcert tokens create) / "+
			"sau đó quản trị viên tạo các token khác",
		"or, on a development machine only, run vaxcert serve --dev / hoặc, chỉ trên máy phát triển, dùng --dev")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=?&%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
