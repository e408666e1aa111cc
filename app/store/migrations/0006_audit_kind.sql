-- The audit page filters by kind within an owner's log, newest first.
CREATE INDEX audit_owner_kind_at ON audit(owner_id, kind, at);
CREATE INDEX audit_kind_at ON audit(kind, at);
