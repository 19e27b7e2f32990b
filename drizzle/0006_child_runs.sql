ALTER TABLE `runs` ADD `parent_run_id` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `parent_step` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `parent_visit` integer;--> statement-breakpoint
ALTER TABLE `runs` ADD `depth` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `runs_parent_visit` ON `runs` (`parent_run_id`,`parent_step`,`parent_visit`);