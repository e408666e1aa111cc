package auth_test

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
)

func TestSetupOnlyOnceEvenWhenRacing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if open, _ := e.svc.SetupOpen(e.ctx); !open {
		t.Fatal("setup closed on an empty database")
	}
	_, _, err := e.svc.Setup(e.ctx, "admin@example.com", "Admin", "short", "192.0.2.1", "ua")
	wantCode(t, err, app.EINVALID)

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = e.svc.Setup(e.ctx, "admin"+string(rune('a'+i))+"@example.com", "", testPassword, "192.0.2.1", "ua")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch app.ErrorCode(err) {
		case "":
			ok++
		case app.EFORBIDDEN:
		default:
			t.Errorf("racing setup: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d setups succeeded, want exactly 1", ok)
	}
	owners, _ := e.db.Owners(e.ctx)
	if len(owners) != 1 || !owners[0].Admin || !strings.HasPrefix(owners[0].PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("after setup: %+v", owners)
	}
	if len(e.audit(t, owners[0].ID, app.AuditSetup)) != 1 {
		t.Error("setup left no audit entry")
	}
	if n, _ := e.db.SessionCount(e.ctx, owners[0].ID); n != 1 {
		t.Errorf("setup opened %d sessions, want 1", n)
	}
	if open, _ := e.svc.SetupOpen(e.ctx); open {
		t.Error("setup still open")
	}
}

func TestLoginAndSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.addOwner(t, "ann@example.com", false)

	tok1, got, err := e.svc.Login(e.ctx, " Ann@Example.com ", testPassword, "192.0.2.1", "browser")
	if err != nil || got.ID != o.ID {
		t.Fatalf("Login = %v, %v", got, err)
	}
	tok2, _, err := e.svc.Login(e.ctx, "ann@example.com", testPassword, "192.0.2.2", "other browser")
	if err != nil {
		t.Fatal(err)
	}
	if tok1 == tok2 || len(tok1) < 40 {
		t.Fatalf("tokens %q and %q: want a new, long token per login", tok1, tok2)
	}
	// Only the hash of the token is stored.
	if e.count(t, `SELECT COUNT(*) FROM sessions WHERE id = ?`, tok1) != 0 || e.count(t, `SELECT COUNT(*) FROM sessions WHERE id = ?`, auth.HashToken(tok1)) != 1 {
		t.Error("session row is not keyed by the token's hash")
	}
	if o2, s, err := e.svc.SessionOwner(e.ctx, tok1); err != nil || o2.ID != o.ID || s.UserAgent != "browser" {
		t.Fatalf("SessionOwner = %v %v %v", o2, s, err)
	}
	if got, _ := e.db.Owner(e.ctx, o.ID); !got.LastLoginAt.Equal(t0) {
		t.Errorf("LastLoginAt = %v", got.LastLoginAt)
	}
	if n := len(e.audit(t, o.ID, app.AuditLoginOK)); n != 2 {
		t.Errorf("%d login.success entries, want 2", n)
	}
	for _, bad := range []string{"", "nonsense", strings.Repeat("x", 101), auth.HashToken(tok1)} {
		if _, _, err := e.svc.SessionOwner(e.ctx, bad); app.ErrorCode(err) != app.EUNAUTHORIZED {
			t.Errorf("SessionOwner(%q) = %v", bad, err)
		}
	}

	// The expiry slides on use, at most once a minute.
	e.clock.Add(29 * 24 * time.Hour)
	if _, _, err := e.svc.SessionOwner(e.ctx, tok1); err != nil {
		t.Fatalf("session gone before its expiry: %v", err)
	}
	e.clock.Add(2 * 24 * time.Hour)
	if _, _, err := e.svc.SessionOwner(e.ctx, tok1); err != nil {
		t.Errorf("session used on day 29 expired on day 31: the expiry did not slide")
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, tok2); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("unused session past its 30 days still works: %v", err)
	}

	if err := e.svc.Logout(e.ctx, o.ID, tok1, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, tok1); err == nil {
		t.Error("session works after logout")
	}
	if len(e.audit(t, o.ID, app.AuditLogout)) != 1 {
		t.Error("logout not audited")
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.addOwner(t, "ann@example.com", false)
	other := e.addOwner(t, "bob@example.com", false)
	var toks []string
	for range 3 {
		tok, _, err := e.svc.Login(e.ctx, o.Email, testPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	bobTok, _, _ := e.svc.Login(e.ctx, other.Email, testPassword, "192.0.2.1", "")
	if err := e.svc.LogoutEverywhere(e.ctx, o.ID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if _, _, err := e.svc.SessionOwner(e.ctx, tok); err == nil {
			t.Error("a session survived logout everywhere")
		}
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, bobTok); err != nil {
		t.Error("another owner's session ended too")
	}
	if a := e.audit(t, o.ID, app.AuditSessionsEnded); len(a) != 1 || !strings.Contains(a[0].Message, "3 sessions") {
		t.Errorf("audit: %+v", a)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.addOwner(t, "ann@example.com", false)
	here, _, _ := e.svc.Login(e.ctx, o.Email, testPassword, "192.0.2.1", "")
	there, _, _ := e.svc.Login(e.ctx, o.Email, testPassword, "192.0.2.2", "")
	_, sess, err := e.svc.SessionOwner(e.ctx, here)
	if err != nil {
		t.Fatal(err)
	}

	err = e.svc.ChangePassword(e.ctx, o.ID, sess.ID, "wrong password", "a new passphrase", "192.0.2.1")
	wantCode(t, err, app.EINVALID)
	err = e.svc.ChangePassword(e.ctx, o.ID, sess.ID, testPassword, "short", "192.0.2.1")
	wantCode(t, err, app.EINVALID)
	if _, _, err := e.svc.SessionOwner(e.ctx, there); err != nil {
		t.Fatal("a refused change ended sessions")
	}

	if err := e.svc.ChangePassword(e.ctx, o.ID, sess.ID, testPassword, "a new passphrase", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, here); err != nil {
		t.Error("the session that changed the password ended")
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, there); err == nil {
		t.Error("another session survived a password change")
	}
	if _, _, err := e.svc.Login(e.ctx, o.Email, testPassword, "192.0.2.9", ""); err == nil {
		t.Error("old password still works")
	}
	if _, _, err := e.svc.Login(e.ctx, o.Email, "a new passphrase", "192.0.2.9", ""); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	if a := e.audit(t, o.ID, app.AuditPassword); len(a) != 1 || !strings.Contains(a[0].Message, "1 other sessions ended") {
		t.Errorf("audit: %+v", a)
	}
}

// TestLoginFailuresLookAlike: an unknown address, a wrong password, a
// disabled account and an invited account without a password all get the
// same error, so the answer reveals nothing about who has an account.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	known := e.addOwner(t, "known@example.com", false)
	off := e.addOwner(t, "off@example.com", false)
	_ = e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.SetOwnerDisabled(off.ID, true) })
	invited := &app.Owner{ID: auth.NewOwnerID(), Email: "invited@example.com"}
	_ = e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.CreateOwner(invited) })

	cases := []struct{ name, email, pw string }{
		{"unknown address", "nobody@example.com", testPassword},
		{"wrong password", known.Email, "wrong password"},
		{"disabled, right password", off.Email, testPassword},
		{"invited, no password yet", invited.Email, ""},
		{"over-long password", known.Email, strings.Repeat("y", 5000)},
	}
	var first string
	for _, c := range cases {
		tok, o, err := e.svc.Login(e.ctx, c.email, c.pw, "192.0.2.1", "")
		if err == nil || tok != "" || o != nil {
			t.Fatalf("%s: login succeeded", c.name)
		}
		msg := app.ErrorCode(err) + ": " + app.ErrorMessage(err)
		if first == "" {
			first = msg
		}
		if msg != first || app.ErrorCode(err) != app.EUNAUTHORIZED {
			t.Errorf("%s: %q, want the same as the others (%q)", c.name, msg, first)
		}
	}
	if a := e.audit(t, "", app.AuditLoginFail); len(a) != len(cases) {
		t.Errorf("%d login.failure entries, want %d", len(a), len(cases))
	}
	if a := e.audit(t, off.ID, app.AuditLoginFail); len(a) != 1 || !strings.Contains(a[0].Message, "disabled") {
		t.Errorf("disabled owner's audit: %+v", a)
	}
	if n, _ := e.db.SessionCount(e.ctx, off.ID); n != 0 {
		t.Error("a disabled owner got a session")
	}
}

// TestUnknownAccountRunsArgon2 counts the work instead of timing it: one
// argon2id hash with m=19 MiB allocates 19 MiB, so a login for an address
// nobody has must allocate as much as a wrong password does. Not parallel:
// other tests would add to the allocation counter.
func TestUnknownAccountRunsArgon2(t *testing.T) {
	e := newEnv(t)
	e.addOwner(t, "known@example.com", false)
	alloc := func(email, pw string) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := e.svc.Login(e.ctx, email, pw, "192.0.2.1", "")
		runtime.ReadMemStats(&after)
		if app.ErrorCode(err) != app.EUNAUTHORIZED {
			t.Fatalf("login %s: %v", email, err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	const argonBytes = 19 << 20
	wrong := alloc("known@example.com", "wrong password")
	unknown := alloc("nobody@example.com", "wrong password")
	t.Logf("allocated: wrong password %d KiB, unknown account %d KiB", wrong>>10, unknown>>10)
	if wrong < argonBytes {
		t.Fatalf("a wrong password allocated %d bytes: argon2id with 19 MiB did not run", wrong)
	}
	if unknown < argonBytes {
		t.Errorf("an unknown account allocated %d bytes: it skips argon2 and can be told apart by timing", unknown)
	}
	if unknown > 2*wrong || wrong > 2*unknown {
		t.Errorf("work differs: wrong password %d bytes, unknown account %d bytes", wrong, unknown)
	}
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	t.Run("per account, known and unknown alike", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		known := e.addOwner(t, "known@example.com", false)
		for _, email := range []string{known.Email, "nobody@example.com"} {
			for i := range e.svc.AccountLimit.Max {
				// Different addresses, so only the account limit applies.
				_, _, err := e.svc.Login(e.ctx, email, "wrong password", "192.0.2."+strconv.Itoa(i), "")
				wantCode(t, err, app.EUNAUTHORIZED)
			}
			_, _, err := e.svc.Login(e.ctx, email, testPassword, "198.51.100.1", "")
			if app.ErrorCode(err) != app.ETOOMANY {
				t.Errorf("%s after %d failures: %v, want too many (even with the right password)", email, e.svc.AccountLimit.Max, err)
			}
		}
		e.clock.Add(e.svc.AccountLimit.Window)
		if _, _, err := e.svc.Login(e.ctx, known.Email, testPassword, "198.51.100.1", ""); err != nil {
			t.Errorf("still refused after the window: %v", err)
		}
	})
	t.Run("per address", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.svc.IPLimit = auth.NewLimiter(4, time.Minute)
		e.svc.IPLimit.Now = e.clock.Now
		e.addOwner(t, "known@example.com", false)
		for i := range 4 {
			_, _, err := e.svc.Login(e.ctx, "guess"+strconv.Itoa(i)+"@example.com", "x", "203.0.113.7", "")
			wantCode(t, err, app.EUNAUTHORIZED)
		}
		_, _, err := e.svc.Login(e.ctx, "known@example.com", testPassword, "203.0.113.7", "")
		wantCode(t, err, app.ETOOMANY)
		if _, _, err := e.svc.Login(e.ctx, "known@example.com", testPassword, "203.0.113.8", ""); err != nil {
			t.Errorf("another address is blocked too: %v", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		s := auth.NewService(nil, nil)
		if s.AccountLimit.Max != 10 || s.IPLimit.Max != 50 || s.KeyLimit.Max != 100 {
			t.Errorf("limits %d/%d/%d", s.AccountLimit.Max, s.IPLimit.Max, s.KeyLimit.Max)
		}
	})
}

// BenchmarkLoginFailure shows that a failed login costs the same whether
// the account exists or not (limits raised so no attempt is refused early).
func BenchmarkLoginFailure(b *testing.B) {
	e := newEnv(b)
	e.svc.AccountLimit = auth.NewLimiter(1<<30, time.Minute)
	e.svc.IPLimit = auth.NewLimiter(1<<30, time.Minute)
	e.addOwner(b, "known@example.com", false)
	for _, c := range []struct{ name, email string }{{"wrong-password", "known@example.com"}, {"unknown-account", "nobody@example.com"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := e.svc.Login(e.ctx, c.email, "wrong password", "192.0.2.1", ""); app.ErrorCode(err) != app.EUNAUTHORIZED {
					b.Fatal(err)
				}
			}
		})
	}
}
