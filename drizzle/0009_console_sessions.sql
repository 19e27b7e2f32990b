CREATE TABLE `console_links` (
	`secret_hash` text PRIMARY KEY NOT NULL,
	`actor` text NOT NULL,
	`slack_user` text,
	`token_id` text,
	`token_name` text,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`secret_hash` text PRIMARY KEY NOT NULL,
	`actor` text NOT NULL,
	`slack_user` text,
	`token_id` text,
	`token_name` text,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `console_sessions_expiry` ON `console_sessions` (`expires_at`);