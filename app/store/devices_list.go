package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"thinx/app"
)

// deviceSorts maps the sort names of app.DeviceFilter to ORDER BY clauses.
// The first two follow an index, so the first page of 10,000 devices never
// sorts them all.
var deviceSorts = map[string]string{
	"":              "alias COLLATE NOCASE, udid",
	"alias":         "alias COLLATE NOCASE, udid",
	"-alias":        "alias COLLATE NOCASE DESC, udid DESC",
	"last_checkin":  "last_checkin DESC, udid",
	"-last_checkin": "last_checkin, udid",
	"platform":      "platform, alias COLLATE NOCASE, udid",
	"level":         "CASE level WHEN 'error' THEN 0 WHEN 'warning' THEN 1 WHEN 'info' THEN 2 ELSE 3 END, alias COLLATE NOCASE, udid",
	"created":       "created_at DESC, udid",
}

// DeviceListMax is the largest page the list returns.
const DeviceListMax = 500

// Devices lists an owner's devices matching f, one page, with the total
// number of matches. staleBefore is the check-in time before which a device
// counts as stale.
func (db *DB) Devices(ctx context.Context, ownerID string, f app.DeviceFilter, staleBefore time.Time) ([]*app.Device, int, error) {
	order, ok := deviceSorts[f.Sort]
	if !ok {
		return nil, 0, app.Errorf(app.EINVALID, "Unknown sort %q.", f.Sort)
	}
	where, args := deviceConditions(ownerID, f, staleBefore)
	if f.PerPage <= 0 {
		f.PerPage = 50
	}
	f.PerPage = min(f.PerPage, DeviceListMax)
	f.Page = max(f.Page, 1)
	if strings.TrimSpace(f.Search) != "" {
		// A search scans the owner's devices anyway: count in the same
		// scan instead of a second one.
		list, total, err := db.devicePage(ctx, `SELECT `+deviceCols+`, COUNT(*) OVER () FROM devices WHERE `+where+
			` ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, f.PerPage, (f.Page-1)*f.PerPage), true)
		if err != nil || len(list) > 0 || f.Page == 1 {
			return list, total, err
		}
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, _, err := db.devicePage(ctx, `SELECT `+deviceCols+` FROM devices WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, f.PerPage, (f.Page-1)*f.PerPage), false)
	return list, total, err
}

// devicePage runs a list query; with counted, each row ends with the
// number of all matches.
func (db *DB) devicePage(ctx context.Context, query string, args []any, counted bool) ([]*app.Device, int, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*app.Device
	total := 0
	for rows.Next() {
		var d *app.Device
		var err error
		if counted {
			d, err = scanDevice(countingScanner{rows, &total})
		} else {
			d, err = scanDevice(rows)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// countingScanner scans one extra trailing column, the window count.
type countingScanner struct {
	rows  *sql.Rows
	total *int
}

func (c countingScanner) Scan(dest ...any) error { return c.rows.Scan(append(dest, c.total)...) }

func deviceConditions(ownerID string, f app.DeviceFilter, staleBefore time.Time) (string, []any) {
	where := []string{"owner_id = ?"}
	args := []any{ownerID}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + likeEscape(s) + "%"
		// One LIKE over the joined text costs a fraction of one per column.
		where = append(where, `(alias || ' ' || udid || ' ' || mac || ' ' || description || ' ' || firmware || ' ' ||
			status_text || ' ' || status || ' ' || tags) LIKE ? ESCAPE '\'`)
		args = append(args, like)
	}
	if f.Tag != "" {
		where = append(where, "udid IN (SELECT udid FROM device_tags WHERE owner_id = ? AND tag = ?)")
		args = append(args, ownerID, f.Tag)
	}
	if f.Mesh != "" {
		where = append(where, "udid IN (SELECT udid FROM mesh_devices WHERE owner_id = ? AND mesh_id = ?)")
		args = append(args, ownerID, f.Mesh)
	}
	if p := strings.ToLower(strings.TrimSpace(f.Platform)); p != "" {
		where = append(where, `(platform = ? OR platform LIKE ? ESCAPE '\' OR platform LIKE ? ESCAPE '\')`)
		args = append(args, p, "%:"+likeEscape(p), likeEscape(p)+":%")
	}
	if f.Level != "" {
		where = append(where, "level = ?")
		args = append(args, f.Level)
	}
	if f.Online != nil {
		where = append(where, "online = ?")
		args = append(args, *f.Online)
	}
	if f.Stale {
		where = append(where, "last_checkin < ?")
		args = append(args, ms(staleBefore))
	}
	return strings.Join(where, " AND "), args
}
