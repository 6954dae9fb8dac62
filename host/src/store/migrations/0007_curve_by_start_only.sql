-- The curve is read by its key, a range of start instants (a point's
-- `date` is the Europe/Paris day of its start, checked on every ingest):
-- the index by day served no query any more and cost every insert a
-- third b-tree.
DROP INDEX curve_points_by_day;
