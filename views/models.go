// Package views holds the console's templ components: one layout, shared
// components, and a file per page. It imports app and templ only; handlers
// fill the view models below.
package views

import (
	"time"

	"thinx/app"
)

// Assets are the hashed URLs of the static files the layout links.
type Assets struct {
	CSS, JS, HTMX, SSE, Favicon string
	// Editor enhances code textareas; loaded on every page, because a
	// boosted navigation to the editor does not run scripts in the body.
	Editor string
}

// Flash is a one-line message at the top of a page.
type Flash struct {
	Kind string // "ok", "error" or "info"
	Text string
}

// Page is what every console page shares.
type Page struct {
	Title  string
	Nav    string // the active section's path, e.g. "/keys"
	Owner  *app.Owner
	Assets Assets
	Flash  Flash
}

// Section is one entry of the navigation.
type Section struct {
	Path, Label string
	AdminOnly   bool
	// Empty is what the section shows until its feature exists.
	Empty string
}

// Sections is the console's navigation, in order.
var Sections = []Section{
	{"/", "Dashboard", false, "Counters and 30-day charts of check-ins, new devices, errors and updates will appear here once devices check in."},
	{"/devices", "Devices", false, "Your devices will be listed here after their first check-in with one of your API keys."},
	{"/sources", "Sources", false, "Git repositories you attach to devices will be listed here; pushes to them start builds."},
	{"/builds", "Builds", false, "Builds of your sources will appear here, with their logs and firmware artifacts."},
	{"/rollouts", "Rollouts", false, "Staged over-the-air updates of your devices will appear here."},
	{"/mqtt", "MQTT", false, ""},
	{"/transformers", "Transformers", false, "Status transformers (small Go functions that turn raw status bytes into readable text) will be edited here."},
	{"/environment", "Environment", false, "Environment variables injected into builds and pushed to devices will be managed here."},
	{"/keys", "API keys", false, ""},
	{"/audit", "Audit log", false, ""},
	{"/profile", "Profile", false, ""},
	{"/admin", "Admin", true, ""},
}

// SectionByPath finds a section; ok is false for unknown paths.
func SectionByPath(path string) (Section, bool) {
	for _, s := range Sections {
		if s.Path == path {
			return s, true
		}
	}
	return Section{}, false
}

// KeysPage is the API keys page.
type KeysPage struct {
	Page
	Keys   []*app.APIKey
	NewKey string // shown once, right after creation
	Alias  string
}

// AuditPage is the audit log with its filter.
type AuditPage struct {
	Page
	Entries  []*app.AuditEntry
	Filter   app.AuditFilter
	FromText string
	ToText   string
	Total    int
	Kinds    []string
	ShowAll  bool // admin view across owners
	PrevURL  string
	NextURL  string
}

// ProfilePage is the profile form.
type ProfilePage struct {
	Page
	Sessions  int
	AvatarURL string
}

// AdminPage lists owners for the admin.
type AdminPage struct {
	Page
	Owners      []*app.Owner
	Link        string // an invitation or reset link to hand over
	LinkFor     string
	MailEnabled bool
	CertSHA256  string
	Version     string
}

// AuthPage is the login, setup, forgot-password and set-password pages.
type AuthPage struct {
	Assets  Assets
	Title   string
	Flash   Flash
	Email   string
	Name    string
	Action  string // form target
	Token   string
	MailOn  bool
	Heading string
}

// Rel formats a time for <time class="rel">: RFC 3339, or "" for never.
func Rel(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Exact formats a time for people who have no JavaScript.
func Exact(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
