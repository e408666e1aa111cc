package auth_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
)

const base = "https://thinx.example.com"

func TestInviteWithoutMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.addOwner(t, "admin@example.com", true)
	plain := e.addOwner(t, "plain@example.com", false)

	_, _, _, err := e.svc.Invite(e.ctx, plain, "x@example.com", "", false, "192.0.2.1", base)
	wantCode(t, err, app.EFORBIDDEN)
	_, _, _, err = e.svc.Invite(e.ctx, admin, "PLAIN@example.com", "", false, "192.0.2.1", base)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "plain@example.com already exists") {
		t.Errorf("inviting an existing address: %v", err)
	}
	_, _, _, err = e.svc.Invite(e.ctx, admin, "not-an-address", "", false, "192.0.2.1", base)
	wantCode(t, err, app.EINVALID)

	o, token, sent, err := e.svc.Invite(e.ctx, admin, "new@example.com", "New", true, "192.0.2.1", base)
	if err != nil || sent || token == "" {
		t.Fatalf("Invite = %v %q %v %v", o, token, sent, err)
	}
	if got, _ := e.db.Owner(e.ctx, o.ID); got.HasPassword || !got.Admin || got.Name != "New" {
		t.Errorf("invited owner = %+v", got)
	}
	if len(e.audit(t, o.ID, app.AuditOwnerAdded)) != 1 || len(e.audit(t, admin.ID, app.AuditOwnerAdded)) != 1 {
		t.Error("owner.added not in both logs")
	}
	// Without a password, nobody can log in as the invited owner.
	if _, _, err := e.svc.Login(e.ctx, "new@example.com", "", "192.0.2.1", ""); err == nil {
		t.Fatal("invited owner logged in without a password")
	}

	// Valid for 7 days and not a second longer.
	e.clock.Add(auth.InviteLifetime - time.Minute)
	if !e.svc.LinkValid(e.ctx, token, app.TokenInvite) {
		t.Fatal("invitation expired before 7 days")
	}
	if e.svc.LinkValid(e.ctx, token, app.TokenReset) {
		t.Error("invitation token valid as a reset link")
	}
	_, _, err = e.svc.UseLink(e.ctx, token, app.TokenInvite, "short", "192.0.2.1", "")
	wantCode(t, err, app.EINVALID)
	sess, got, err := e.svc.UseLink(e.ctx, token, app.TokenInvite, "the new passphrase", "192.0.2.1", "")
	if err != nil || got.ID != o.ID {
		t.Fatalf("UseLink = %v, %v", got, err)
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, sess); err != nil {
		t.Error("no session after accepting the invitation")
	}
	if _, _, err := e.svc.UseLink(e.ctx, token, app.TokenInvite, "another passphrase", "192.0.2.1", ""); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("invitation used twice: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "new@example.com", "the new passphrase", "192.0.2.1", ""); err != nil {
		t.Errorf("login with the chosen password: %v", err)
	}
	if len(e.audit(t, o.ID, app.AuditInviteAccepted)) != 1 {
		t.Error("invite.accepted not audited")
	}

	_, late, _, _ := e.svc.Invite(e.ctx, admin, "late@example.com", "", false, "192.0.2.1", base)
	e.clock.Add(auth.InviteLifetime)
	if e.svc.LinkValid(e.ctx, late, app.TokenInvite) {
		t.Error("invitation valid after 7 days")
	}
	if _, _, err := e.svc.UseLink(e.ctx, late, app.TokenInvite, "the new passphrase", "192.0.2.1", ""); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("expired invitation used: %v", err)
	}
}

func TestInviteAndResetByMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sink := newSMTPSink(t)
	e.svc.Mailer = sink.mailer()
	admin := e.addOwner(t, "admin@example.com", true)

	o, token, sent, err := e.svc.Invite(e.ctx, admin, "new@example.com", "", false, "192.0.2.1", base)
	if err != nil || !sent {
		t.Fatalf("Invite: sent=%v err=%v", sent, err)
	}
	m := sink.next(t)
	if m.To != "new@example.com" || !strings.Contains(m.Data, "Subject: You are invited") || linkToken(t, m.Data, "invite") != token {
		t.Errorf("invitation mail: %+v", m)
	}
	if !strings.Contains(m.Data, base+"/invite/") {
		t.Errorf("link does not use the base URL: %s", m.Data)
	}

	// Anyone may ask; only an existing, enabled account gets mail, and
	// the answer is the same either way.
	if err := e.svc.RequestReset(e.ctx, "nobody@example.com", "192.0.2.1", base); err != nil {
		t.Errorf("unknown address: %v", err)
	}
	sink.none(t)
	if err := e.svc.RequestReset(e.ctx, "Admin@Example.com", "192.0.2.1", base); err != nil {
		t.Fatal(err)
	}
	m = sink.next(t)
	tok := linkToken(t, m.Data, "reset")
	if m.To != "admin@example.com" || !e.svc.LinkValid(e.ctx, tok, app.TokenReset) {
		t.Fatalf("reset mail: %+v", m)
	}
	e.clock.Add(auth.ResetLifetime)
	if e.svc.LinkValid(e.ctx, tok, app.TokenReset) {
		t.Error("a requested reset link outlives its hour")
	}

	// An admin-made reset link is e-mailed as well.
	tok2, sent, err := e.svc.ResetLink(e.ctx, admin, o.ID, "192.0.2.1", base)
	if err != nil || !sent || linkToken(t, sink.next(t).Data, "reset") != tok2 {
		t.Fatalf("ResetLink: sent=%v err=%v", sent, err)
	}
}

// TestRequestResetDoesNotWaitForTheWrite: the answer for an existing
// address must do no more than the answer for an unknown one, so it may not
// wait for the token's write. The test holds the only write connection:
// the call must return anyway, and the mail follows once it is released.
func TestRequestResetDoesNotWaitForTheWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sink := newSMTPSink(t)
	e.svc.Mailer = sink.mailer()
	e.addOwner(t, "ann@example.com", false)
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = e.db.Update(e.ctx, func(*store.Tx) error { close(holding); <-release; return nil })
	}()
	<-holding
	returned := make(chan error, 1)
	go func() { returned <- e.svc.RequestReset(e.ctx, "ann@example.com", "192.0.2.1", base) }()
	select {
	case err := <-returned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("RequestReset waited for the database write: its timing reveals that the account exists")
	}
	if e.count(t, `SELECT COUNT(*) FROM tokens`) != 0 {
		t.Fatal("a token was written while the test held the write connection")
	}
	close(release)
	if m := sink.next(t); m.To != "ann@example.com" {
		t.Errorf("mail to %s", m.To)
	}
	if len(e.audit(t, "", app.AuditPasswordReset)) != 1 {
		t.Error("the request is not audited")
	}
}

func TestRequestResetWithoutMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addOwner(t, "a@example.com", false)
	err := e.svc.RequestReset(e.ctx, "a@example.com", "192.0.2.1", base)
	if app.ErrorCode(err) != app.ENOTIMPLEMENTED || !strings.Contains(app.ErrorMessage(err), "Ask your admin") {
		t.Errorf("RequestReset without e-mail: %v", err)
	}
	if e.count(t, `SELECT COUNT(*) FROM tokens`) != 0 {
		t.Error("a token was made although it cannot be sent")
	}
}

func TestResetLinkByAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.addOwner(t, "admin@example.com", true)
	ann := e.addOwner(t, "ann@example.com", false)
	annTok, _, _ := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.1", "")

	_, _, err := e.svc.ResetLink(e.ctx, ann, admin.ID, "192.0.2.1", base)
	wantCode(t, err, app.EFORBIDDEN)
	_, _, err = e.svc.ResetLink(e.ctx, admin, auth.NewOwnerID(), "192.0.2.1", base)
	wantCode(t, err, app.ENOTFOUND)

	tok, sent, err := e.svc.ResetLink(e.ctx, admin, ann.ID, "192.0.2.1", base)
	if err != nil || sent {
		t.Fatalf("ResetLink: %v %v", sent, err)
	}
	e.clock.Add(6 * 24 * time.Hour)
	if _, _, err := e.svc.UseLink(e.ctx, tok, app.TokenReset, "brand new passphrase", "192.0.2.1", ""); err != nil {
		t.Fatalf("UseLink: %v", err)
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, annTok); err == nil {
		t.Error("sessions survive a password reset")
	}
	if _, _, err := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.2", ""); err == nil {
		t.Error("the old password still works after a reset")
	}
	if a := e.audit(t, ann.ID, app.AuditPasswordReset); len(a) != 2 {
		t.Errorf("password.reset entries: %d, want 2 (made, used)", len(a))
	}
}

func TestDisableOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.addOwner(t, "admin@example.com", true)
	ann := e.addOwner(t, "ann@example.com", false)
	tok, _, _ := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.1", "")
	resetTok, _, _ := e.svc.ResetLink(e.ctx, admin, ann.ID, "192.0.2.1", base)

	wantCode(t, e.svc.SetDisabled(e.ctx, ann, admin.ID, true, ""), app.EFORBIDDEN)
	wantCode(t, e.svc.SetDisabled(e.ctx, admin, admin.ID, true, ""), app.EINVALID)
	wantCode(t, e.svc.SetDisabled(e.ctx, admin, auth.NewOwnerID(), true, ""), app.ENOTFOUND)

	if err := e.svc.SetDisabled(e.ctx, admin, ann.ID, true, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionOwner(e.ctx, tok); err == nil {
		t.Error("a disabled owner's session still works")
	}
	if n, _ := e.db.SessionCount(e.ctx, ann.ID); n != 0 {
		t.Errorf("%d sessions left after disabling", n)
	}
	if _, _, err := e.svc.UseLink(e.ctx, resetTok, app.TokenReset, "brand new passphrase", "", ""); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("a disabled owner used a reset link: %v", err)
	}
	if len(e.audit(t, ann.ID, app.AuditOwnerDisabled)) != 1 || len(e.audit(t, admin.ID, app.AuditOwnerDisabled)) != 1 {
		t.Error("owner.disabled not in both logs")
	}

	if err := e.svc.SetDisabled(e.ctx, admin, ann.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.1", ""); err != nil {
		t.Errorf("login after enabling: %v", err)
	}
}

// TestDisabledOwnerSessionRefused covers a session row that survives the
// disabling (written by another process, say): it must still be refused.
func TestDisabledOwnerSessionRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.addOwner(t, "ann@example.com", false)
	tok, _, _ := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.1", "")
	_ = e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.SetOwnerDisabled(ann.ID, true) })
	if _, _, err := e.svc.SessionOwner(e.ctx, tok); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("disabled owner's session: %v", err)
	}
}

func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.addOwner(t, "ann@example.com", false)
	e.addOwner(t, "bob@example.com", false)
	n := app.NotifyPrefs{Builds: true, Transfers: true}
	if err := e.svc.UpdateProfile(e.ctx, ann.ID, "Ann", "Ann.New@example.com", n, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.db.Owner(e.ctx, ann.ID)
	if got.Name != "Ann" || got.Email != "ann.new@example.com" || got.Notify != n {
		t.Errorf("profile = %+v", got)
	}
	if a := e.audit(t, ann.ID, app.AuditProfile); len(a) != 1 || !strings.Contains(a[0].Message, "ann@example.com → ann.new@example.com") {
		t.Errorf("profile audit: %+v", a)
	}
	err := e.svc.UpdateProfile(e.ctx, ann.ID, "Ann", "bob@example.com", n, "")
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "bob@example.com") {
		t.Errorf("taking bob's address: %v", err)
	}
	wantCode(t, e.svc.UpdateProfile(e.ctx, ann.ID, strings.Repeat("n", 201), "ann.new@example.com", n, ""), app.EINVALID)
	wantCode(t, e.svc.UpdateProfile(e.ctx, ann.ID, "Ann", "nope", n, ""), app.EINVALID)
	if len(e.audit(t, ann.ID, app.AuditProfile)) != 1 {
		t.Error("a refused change was audited")
	}
}

// testImage draws a small picture with a gradient so encoders cannot
// collapse it to nothing.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return img
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSetAvatar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.addOwner(t, "ann@example.com", false)
	pngBytes := encode(t, "png", testImage(40, 30))
	hidden := append(append([]byte{}, pngBytes...), []byte("<?php hidden payload ?>")...)

	cases := []struct {
		name string
		data []byte
		code string
	}{
		{"too large", make([]byte, auth.MaxAvatarBytes+1), app.ETOOLARGE},
		{"not an image", []byte("hello, this is text"), app.EINVALID},
		{"gif", encode(t, "gif", testImage(8, 8)), app.EINVALID},
		{"truncated png", pngBytes[:len(pngBytes)/2], app.EINVALID},
		{"too many pixels", encode(t, "png", image.NewGray(image.Rect(0, 0, 4000, 10))), app.EINVALID},
	}
	for _, c := range cases {
		if err := e.svc.SetAvatar(e.ctx, ann.ID, c.data, ""); app.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if _, _, err := e.db.Avatar(e.ctx, ann.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatal("a refused upload was stored")
	}

	if err := e.svc.SetAvatar(e.ctx, ann.ID, hidden, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	b, ct, err := e.db.Avatar(e.ctx, ann.ID)
	if err != nil || ct != "image/png" {
		t.Fatalf("Avatar: %q %v", ct, err)
	}
	if bytes.Contains(b, []byte("hidden payload")) {
		t.Error("bytes after the image survived: the upload was not re-encoded")
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != "png" || img.Bounds().Dx() != 40 || img.Bounds().Dy() != 30 {
		t.Errorf("stored avatar: %v %s %v", img.Bounds(), format, err)
	}

	if err := e.svc.SetAvatar(e.ctx, ann.ID, encode(t, "jpeg", testImage(20, 20)), ""); err != nil {
		t.Fatal(err)
	}
	if _, ct, _ := e.db.Avatar(e.ctx, ann.ID); ct != "image/jpeg" {
		t.Errorf("jpeg stored as %q", ct)
	}
	if n := len(e.audit(t, ann.ID, app.AuditProfile)); n != 2 {
		t.Errorf("%d avatar audit entries, want 2", n)
	}
}

// TestAuditSharesTheTransaction makes the audit table refuse inserts and
// checks that each change then fails as a whole: no change without its
// audit entry.
func TestAuditSharesTheTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.addOwner(t, "admin@example.com", true)
	ann := e.addOwner(t, "ann@example.com", false)
	_, k, _ := e.svc.CreateKey(e.ctx, ann.ID, "fleet", "")
	tok, _, _ := e.svc.Login(e.ctx, ann.Email, testPassword, "192.0.2.1", "")
	_, sess, _ := e.svc.SessionOwner(e.ctx, tok)

	err := e.db.Update(e.ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().Exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var s string
		_ = e.db.ReadDB().QueryRow(`SELECT
			(SELECT group_concat(id || email || name || disabled || password_hash || notify || ifnull(length(avatar), 0), ';') FROM owners) ||
			(SELECT group_concat(id || alias || revoked_at, ';') FROM api_keys) ||
			(SELECT COUNT(*) FROM sessions) || '/' || (SELECT COUNT(*) FROM tokens)`).Scan(&s)
		return s
	}
	before := snapshot()
	ops := map[string]func() error{
		"create key": func() error { _, _, err := e.svc.CreateKey(e.ctx, ann.ID, "x", ""); return err },
		"import key": func() error {
			_, err := e.svc.ImportKey(e.ctx, ann.ID, "x", strings.Repeat("ab", 32), "")
			return err
		},
		"revoke key": func() error { return e.svc.RevokeKey(e.ctx, ann.ID, k.ID, "") },
		"change password": func() error {
			return e.svc.ChangePassword(e.ctx, ann.ID, sess.ID, testPassword, "another passphrase", "")
		},
		"update profile": func() error {
			return e.svc.UpdateProfile(e.ctx, ann.ID, "Ann", "ann@example.com", app.NotifyPrefs{}, "")
		},
		"avatar":  func() error { return e.svc.SetAvatar(e.ctx, ann.ID, encode(t, "png", testImage(4, 4)), "") },
		"disable": func() error { return e.svc.SetDisabled(e.ctx, admin, ann.ID, true, "") },
		"invite": func() error {
			_, _, _, err := e.svc.Invite(e.ctx, admin, "x@example.com", "", false, "", base)
			return err
		},
		"reset link":         func() error { _, _, err := e.svc.ResetLink(e.ctx, admin, ann.ID, "", base); return err },
		"login":              func() error { _, _, err := e.svc.Login(e.ctx, ann.Email, testPassword, "", ""); return err },
		"logout":             func() error { return e.svc.Logout(e.ctx, ann.ID, tok, "") },
		"logout everywhere":  func() error { return e.svc.LogoutEverywhere(e.ctx, ann.ID, "") },
		"owner from the CLI": func() error { _, err := e.svc.CreateOwner(e.ctx, "cli@example.com", testPassword, false); return err },
	}
	for name, op := range ops {
		if err := op(); err == nil {
			t.Errorf("%s succeeded without its audit entry", name)
		}
		if after := snapshot(); after != before {
			t.Errorf("%s changed data although its audit entry failed", name)
			before = after
		}
	}
}

func TestSMTPMailer(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	m := sink.mailer()
	ctx := t.Context()
	if err := m.Send(ctx, "ann@example.com", "Hello", "line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	got := sink.next(t) // the sink's reader turns CRLF into LF
	for _, want := range []string{"From: thinx@example.com\n", "To: ann@example.com\n", "Subject: Hello\n", "charset=utf-8", "line one\nline two"} {
		if !strings.Contains(got.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, got.Data)
		}
	}
	for _, c := range []struct{ to, subject string }{
		{"ann@example.com\r\nBcc: eve@example.com", "Hello"},
		{"ann@example.com", "Hello\nBcc: eve@example.com"},
	} {
		if err := m.Send(ctx, c.to, c.subject, "x"); err == nil {
			t.Errorf("header injection %q / %q accepted", c.to, c.subject)
		}
	}
	sink.none(t)
}
