// Bounds on one run's growth, shared by the engine that enforces them and the configuration that sets them.

/** Most events one run records unless configured (GREENLIGHT_MAX_RUN_EVENTS); beyond, the run fails with `event_limit`. */
export const DEFAULT_MAX_RUN_EVENTS = 100_000
