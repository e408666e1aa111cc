package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
)

// flags makes a flag set that reports errors instead of exiting and
// refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func dataFlag(fs *flag.FlagSet, getenv Env) *string {
	def := getenv("THINX_DATA")
	if def == "" {
		def = "./thinx-data"
	}
	return fs.String("data", def, "data directory ($THINX_DATA)")
}

// openAuth opens the data directory's database for a one-off command. With
// mustExist, a directory without a database is an error rather than a new,
// empty installation: a mistyped --data should not look like "no owner".
func openAuth(ctx context.Context, dir string, mustExist bool) (*store.DB, *auth.Service, error) {
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); mustExist && err != nil {
		return nil, nil, app.Errorf(app.ENOTFOUND, "no thinx database in %s: pass the server's --data directory (or set THINX_DATA)", dir)
	}
	db, err := store.Open(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	return db, auth.NewService(db, discardLogger()), nil
}

func userCmd(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: thinx user add --data DIR --email E [--admin] (password on standard input)")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	data := dataFlag(fs, getenv)
	email := fs.String("email", "", "e-mail address of the new owner")
	admin := fs.Bool("admin", false, "make the owner an admin")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	if err := app.ValidateEmail(app.NormalizeEmail(*email)); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, app.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return usagef("no password on standard input (pipe it in, e.g. printf '%%s\\n' \"$PASSWORD\" | thinx user add ...)")
	}
	db, svc, err := openAuth(ctx, *data, false)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := svc.CreateOwner(ctx, *email, password, *admin)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, o.ID)
	return nil
}

func apikeyCmd(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: thinx apikey new|import|list --data DIR --email E ...")
	}
	sub := args[0]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	data := dataFlag(fs, getenv)
	email := fs.String("email", "", "owner's e-mail address")
	var alias, key *string
	switch sub {
	case "new":
		alias = fs.String("alias", "", "a name for the key")
	case "import":
		alias = fs.String("alias", "Imported key", "a name for the key")
		key = fs.String("key", "", "the existing 64-hex key")
	case "list":
	default:
		return usagef("unknown apikey command %q: want new, import or list", sub)
	}
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	if sub == "new" && strings.TrimSpace(*alias) == "" {
		return usagef("--alias is required")
	}
	if sub == "import" && *key == "" {
		return usagef("--key is required")
	}
	db, svc, err := openAuth(ctx, *data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := db.OwnerByEmail(ctx, *email)
	if err != nil {
		return app.Errorf(app.ENOTFOUND, "no owner with the e-mail address %s in %s", app.NormalizeEmail(*email), *data)
	}
	switch sub {
	case "new":
		k, _, err := svc.CreateKey(ctx, o.ID, *alias, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
	case "import":
		if _, err := svc.ImportKey(ctx, o.ID, *alias, *key, "cli"); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "imported")
	case "list":
		keys, err := svc.Keys(ctx, o.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tALIAS\tKEY\tCREATED\tLAST USED\tSTATE")
		for _, k := range keys {
			state, used := "active", "never"
			if k.Revoked() {
				state = "revoked"
			}
			if !k.LastUsedAt.IsZero() {
				used = k.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t…%s\t%s\t%s\t%s\n", k.ID, k.Alias, k.Last4, k.CreatedAt.Format("2006-01-02 15:04"), used, state)
		}
		return tw.Flush()
	}
	return nil
}
