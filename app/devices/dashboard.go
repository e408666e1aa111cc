package devices

import (
	"context"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// DashboardDays is how many days the dashboard series cover.
const DashboardDays = 30

// Dashboard returns an owner's figures: device counts now, the daily
// series of the last 30 days (today last) and the latest check-ins.
func (s *Service) Dashboard(ctx context.Context, ownerID string) (*app.Dashboard, error) {
	now := s.now()
	d := &app.Dashboard{}
	if err := s.DB.DeviceCounts(ctx, ownerID, now.Add(-s.StaleAfter), d); err != nil {
		return nil, err
	}
	today := store.Day(now)
	days, err := s.DB.DailyStats(ctx, ownerID, today-DashboardDays+1, today)
	if err != nil {
		return nil, err
	}
	d.Days, d.Today = days, days[len(days)-1]
	if d.Transfers, err = s.DB.PendingTransfers(ctx, ownerID, store.Ms(now)); err != nil {
		return nil, err
	}
	d.Recent, err = s.DB.RecentDevices(ctx, ownerID, 10)
	return d, err
}

// RunMaintenance closes expired transfers every interval until ctx ends.
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ExpireTransfers(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("expire transfers", "err", err)
		} else if n > 0 {
			s.Log.Info("expired transfers", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
