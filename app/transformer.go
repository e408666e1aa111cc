package app

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxTransformerSource bounds a transformer's source: a status transformer
// is a small function, and the source travels to a worker on every compile.
// It leaves room in the console's 64 KB form limit for the other fields.
const MaxTransformerSource = 60 << 10

// Transformer is an owner's status transformer: a Go function that turns a
// raw device status into text a person reads.
type Transformer struct {
	ID               string
	OwnerID          string
	Alias            string
	Version          int
	Source           string
	QuarantinedAt    time.Time
	QuarantineReason string
	LastError        string
	LastErrorAt      time.Time
	Runs             int64
	Failures         int64
	Devices          int // how many devices run it
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Quarantined reports whether the transformer is disabled after failing
// repeatedly; it runs again once edited.
func (t *Transformer) Quarantined() bool { return !t.QuarantinedAt.IsZero() }

// TransformerVersion is one saved version of a transformer.
type TransformerVersion struct {
	Version   int
	Source    string
	CreatedAt time.Time
}

// Validate checks alias and source size.
func (t *Transformer) Validate() error {
	t.Alias = strings.TrimSpace(t.Alias)
	switch {
	case t.Alias == "":
		return Errorf(EINVALID, "Give the transformer a name.")
	case utf8.RuneCountInString(t.Alias) > 100:
		return Errorf(EINVALID, "The name must be at most 100 characters.")
	case strings.TrimSpace(t.Source) == "":
		return Errorf(EINVALID, "The transformer has no source code.")
	case len(t.Source) > MaxTransformerSource:
		return Errorf(EINVALID, "The source is larger than %d KB.", MaxTransformerSource>>10)
	}
	return nil
}

// Audit kinds of transformers.
const (
	AuditTransformerSaved       = "transformer.saved"
	AuditTransformerDeleted     = "transformer.deleted"
	AuditTransformerQuarantined = "transformer.quarantined"
	AuditTransformerAttached    = "transformer.attached"
)

func init() {
	RegisterAuditKind(AuditTransformerSaved, AuditTransformerDeleted, AuditTransformerQuarantined, AuditTransformerAttached)
}
