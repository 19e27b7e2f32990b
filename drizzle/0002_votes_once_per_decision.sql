DROP INDEX `votes_once`;--> statement-breakpoint
CREATE UNIQUE INDEX `votes_once` ON `votes` (`wait_id`,`voter`,`digest`,`decision`);