CREATE TABLE `connections` (
	`name` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`config` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `directory_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`members` text NOT NULL,
	`fetched_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `flow_revisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`flow_slug` text NOT NULL,
	`number` integer NOT NULL,
	`content_hash` text NOT NULL,
	`source` text NOT NULL,
	`definition` text NOT NULL,
	`version` integer,
	`note` text,
	`released_by` text,
	`released_at` integer,
	`created_by` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `flow_revisions_content` ON `flow_revisions` (`flow_slug`,`content_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `flow_revisions_number` ON `flow_revisions` (`flow_slug`,`number`);--> statement-breakpoint
CREATE UNIQUE INDEX `flow_revisions_version` ON `flow_revisions` (`flow_slug`,`version`);--> statement-breakpoint
CREATE TABLE `flows` (
	`slug` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`draft_revision` integer NOT NULL,
	`live_version` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`meta` text
);
--> statement-breakpoint
CREATE TABLE `kv` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text,
	`expires_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`run_id` text,
	`method` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`claimed_by` text,
	`claimed_until` integer,
	`result` text,
	`error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_key_unique` ON `outbox` (`key`);--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `resources` (
	`id` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`media_type` text NOT NULL,
	`content` blob NOT NULL,
	`run_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_events` (
	`run_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`at` integer NOT NULL,
	`actor` text,
	`step_id` text,
	`data` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`run_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`flow_slug` text NOT NULL,
	`revision_id` integer NOT NULL,
	`version` integer,
	`status` text NOT NULL,
	`inputs` text NOT NULL,
	`initiator` text NOT NULL,
	`trigger` text NOT NULL,
	`concurrency_key` text,
	`cursor` text NOT NULL,
	`waiting_on` text,
	`output` text,
	`error` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`runnable_at` integer,
	`slack` text,
	`event_count` integer DEFAULT 0 NOT NULL,
	`last_event_hash` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `runs_status_runnable` ON `runs` (`status`,`runnable_at`);--> statement-breakpoint
CREATE INDEX `runs_flow_created` ON `runs` (`flow_slug`,`created_at`);--> statement-breakpoint
CREATE INDEX `runs_concurrency` ON `runs` (`flow_slug`,`concurrency_key`,`status`);--> statement-breakpoint
CREATE INDEX `runs_created` ON `runs` (`created_at`);--> statement-breakpoint
CREATE TABLE `schedule_ticks` (
	`flow_slug` text NOT NULL,
	`schedule` text NOT NULL,
	`tick_at` integer NOT NULL,
	`run_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`flow_slug`, `schedule`, `tick_at`)
);
--> statement-breakpoint
CREATE TABLE `secrets` (
	`name` text PRIMARY KEY NOT NULL,
	`nonce` blob NOT NULL,
	`ciphertext` blob NOT NULL,
	`tag` blob NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `step_runs` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`visit` integer NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`output` text,
	`error` text,
	`billable` integer DEFAULT false NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	PRIMARY KEY(`run_id`, `step_id`, `visit`)
);
--> statement-breakpoint
CREATE INDEX `step_runs_ended` ON `step_runs` (`ended_at`);--> statement-breakpoint
CREATE TABLE `timers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`run_id` text,
	`wait_id` text,
	`fire_at` integer NOT NULL,
	`data` text,
	`status` text NOT NULL,
	`claimed_by` text,
	`claimed_until` integer,
	`created_at` integer NOT NULL,
	`fired_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `timers_key` ON `timers` (`key`);--> statement-breakpoint
CREATE INDEX `timers_due` ON `timers` (`status`,`fire_at`);--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`as_user` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tokens_token_hash_unique` ON `tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `votes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`wait_id` text NOT NULL,
	`voter` text NOT NULL,
	`decision` text NOT NULL,
	`comment` text,
	`digest` text NOT NULL,
	`via` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `votes_once` ON `votes` (`wait_id`,`voter`,`digest`);--> statement-breakpoint
CREATE TABLE `waits` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`visit` integer NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`deadline_at` integer,
	`spec` text,
	`digest` text,
	`payload` text,
	`payload_hash` text,
	`result` text,
	`job_type` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `waits_step_visit` ON `waits` (`run_id`,`step_id`,`visit`);--> statement-breakpoint
CREATE INDEX `waits_kind_status` ON `waits` (`kind`,`status`,`job_type`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`flow_slug` text NOT NULL,
	`dedupe_key` text NOT NULL,
	`run_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`flow_slug`, `dedupe_key`)
);
