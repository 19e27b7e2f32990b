ALTER TABLE `billed_executions` ADD `prompt_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `billed_executions` ADD `completion_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `billed_executions` ADD `total_tokens` integer DEFAULT 0 NOT NULL;