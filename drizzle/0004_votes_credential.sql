ALTER TABLE `votes` ADD `token_id` text;--> statement-breakpoint
ALTER TABLE `votes` ADD `token_name` text;