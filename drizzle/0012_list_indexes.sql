CREATE INDEX `runs_flow_id` ON `runs` (`flow_slug`,`id`);--> statement-breakpoint
CREATE INDEX `runs_status_id` ON `runs` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `runs_initiator_id` ON `runs` (`initiator`,`id`);--> statement-breakpoint
CREATE INDEX `waits_status_created` ON `waits` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `waits_kind_status_created` ON `waits` (`kind`,`status`,`created_at`);