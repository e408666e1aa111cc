-- Every check-in moves its device in an index on the check-in time, which
-- cost a random page write per check-in. Sorting or filtering one owner's
-- devices by check-in time scans at most that owner's devices, which the
-- owner index already bounds, so the index is not worth its writes.
DROP INDEX devices_owner_checkin;
