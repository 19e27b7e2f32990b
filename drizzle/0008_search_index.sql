-- Full-text index (FTS5) over what Greenlight stores. Written by triggers, so every row lands in the same transaction
-- as what it indexes, from the text the store wrote (already redacted). Hand-written: drizzle-kit has no FTS5.
-- kind: run (a run's inputs or output, a step's output), event (an event's type and data, vote comments included;
-- not the bookkeeping-only step.succeeded/step.skipped/wait.heartbeat/callback_url.read, whose text is counters),
-- resource (text and JSON resources, the first 256 KiB), flow (every revision's source).
-- kind and flow are indexed too, so a filter on them is a second MATCH the index answers (store/search-store.ts).
CREATE VIRTUAL TABLE `search_index` USING fts5(
  body,
  kind,
  flow,
  ref UNINDEXED,
  run_id UNINDEXED,
  step UNINDEXED,
  tokenize = 'unicode61'
);--> statement-breakpoint
CREATE TRIGGER `search_runs_insert` AFTER INSERT ON `runs` BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.inputs, 'run', NEW.id, NEW.id, NEW.flow_slug, NULL);
END;--> statement-breakpoint
CREATE TRIGGER `search_runs_output` AFTER UPDATE OF `output` ON `runs`
WHEN NEW.output IS NOT NULL AND NEW.output IS NOT OLD.output BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.output, 'run', NEW.id, NEW.id, NEW.flow_slug, NULL);
END;--> statement-breakpoint
CREATE TRIGGER `search_step_runs_insert` AFTER INSERT ON `step_runs` WHEN NEW.output IS NOT NULL BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.output, 'run', NEW.run_id || ':' || NEW.step_id || ':' || NEW.visit, NEW.run_id,
    (SELECT flow_slug FROM runs WHERE id = NEW.run_id), NEW.step_id);
END;--> statement-breakpoint
CREATE TRIGGER `search_step_runs_output` AFTER UPDATE OF `output` ON `step_runs`
WHEN NEW.output IS NOT NULL AND NEW.output IS NOT OLD.output BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.output, 'run', NEW.run_id || ':' || NEW.step_id || ':' || NEW.visit, NEW.run_id,
    (SELECT flow_slug FROM runs WHERE id = NEW.run_id), NEW.step_id);
END;--> statement-breakpoint
CREATE TRIGGER `search_run_events_insert` AFTER INSERT ON `run_events`
WHEN NEW.type NOT IN ('step.succeeded', 'step.skipped', 'wait.heartbeat', 'callback_url.read') BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.type || ' ' || NEW.data, 'event', NEW.run_id || ':' || NEW.seq, NEW.run_id,
    (SELECT flow_slug FROM runs WHERE id = NEW.run_id), NEW.step_id);
END;--> statement-breakpoint
CREATE TRIGGER `search_resources_insert` AFTER INSERT ON `resources`
WHEN NEW.media_type LIKE 'text/%' OR NEW.media_type LIKE 'application/json%' OR NEW.media_type LIKE 'application/x-ndjson%' BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (CAST(substr(NEW.content, 1, 262144) AS TEXT), 'resource', NEW.id, NEW.run_id,
    (SELECT flow_slug FROM runs WHERE id = NEW.run_id), NULL);
END;--> statement-breakpoint
CREATE TRIGGER `search_flow_revisions_insert` AFTER INSERT ON `flow_revisions` BEGIN
  INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  VALUES (NEW.source, 'flow', NEW.flow_slug || '#' || NEW.number, NULL, NEW.flow_slug, NULL);
END;--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT inputs, 'run', id, id, flow_slug, NULL FROM runs;--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT output, 'run', id, id, flow_slug, NULL FROM runs WHERE output IS NOT NULL;--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT s.output, 'run', s.run_id || ':' || s.step_id || ':' || s.visit, s.run_id, r.flow_slug, s.step_id
  FROM step_runs s LEFT JOIN runs r ON r.id = s.run_id WHERE s.output IS NOT NULL;--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT e.type || ' ' || e.data, 'event', e.run_id || ':' || e.seq, e.run_id, r.flow_slug, e.step_id
  FROM run_events e LEFT JOIN runs r ON r.id = e.run_id
  WHERE e.type NOT IN ('step.succeeded', 'step.skipped', 'wait.heartbeat', 'callback_url.read');--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT CAST(substr(x.content, 1, 262144) AS TEXT), 'resource', x.id, x.run_id, r.flow_slug, NULL
  FROM resources x LEFT JOIN runs r ON r.id = x.run_id
  WHERE x.media_type LIKE 'text/%' OR x.media_type LIKE 'application/json%' OR x.media_type LIKE 'application/x-ndjson%';--> statement-breakpoint
INSERT INTO search_index (body, kind, ref, run_id, flow, step)
  SELECT source, 'flow', flow_slug || '#' || number, NULL, flow_slug, NULL FROM flow_revisions;
