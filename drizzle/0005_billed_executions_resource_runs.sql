CREATE TABLE `billed_executions` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`visit` integer NOT NULL,
	`attempt` integer NOT NULL,
	`kind` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `step_id`, `visit`, `attempt`)
);
--> statement-breakpoint
CREATE INDEX `billed_executions_at` ON `billed_executions` (`at`);--> statement-breakpoint
CREATE TABLE `resource_runs` (
	`resource_id` text NOT NULL,
	`run_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`resource_id`, `run_id`)
);
--> statement-breakpoint
CREATE INDEX `resource_runs_run` ON `resource_runs` (`run_id`,`created_at`);--> statement-breakpoint
-- Executions recorded before this table: every attempt of a billable step result (attempts 1..attempt), and jobs
-- however they ended.
INSERT OR IGNORE INTO `billed_executions` (`run_id`, `step_id`, `visit`, `attempt`, `kind`, `at`)
WITH RECURSIVE `n`(`i`) AS (SELECT 1 UNION ALL SELECT `i` + 1 FROM `n` WHERE `i` < 1000)
SELECT sr.`run_id`, sr.`step_id`, sr.`visit`, `n`.`i`, sr.`kind`, sr.`started_at`
FROM `step_runs` sr JOIN `n` ON `n`.`i` <= sr.`attempt`
WHERE sr.`billable` = 1 OR (sr.`kind` = 'job' AND sr.`status` <> 'skipped');
--> statement-breakpoint
INSERT OR IGNORE INTO `resource_runs` (`resource_id`, `run_id`, `created_at`)
SELECT `id`, `run_id`, `created_at` FROM `resources` WHERE `run_id` IS NOT NULL;
