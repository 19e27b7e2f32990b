CREATE TABLE `maintenance_leases` (
	`name` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`expires_at` integer NOT NULL,
	`acquired_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `pruned_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`flow_slug` text NOT NULL,
	`status` text NOT NULL,
	`root_run_id` text,
	`run_created_at` integer NOT NULL,
	`ended_at` integer NOT NULL,
	`event_count` integer NOT NULL,
	`last_event_hash` text NOT NULL,
	`counts` text NOT NULL,
	`pruned_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pruned_runs_at` ON `pruned_runs` (`pruned_at`);--> statement-breakpoint
CREATE INDEX `outbox_run` ON `outbox` (`run_id`);--> statement-breakpoint
CREATE INDEX `runs_ended` ON `runs` (`ended_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_run` ON `webhook_deliveries` (`run_id`);--> statement-breakpoint
-- Pruning a run removes its rows from the full-text index; run_id is UNINDEXED there, so this index on the FTS5
-- content table (column c4 is run_id) finds them without reading the whole index. Hand-written: drizzle-kit has no FTS5.
CREATE INDEX `search_index_run` ON `search_index_content` (`c4`);
