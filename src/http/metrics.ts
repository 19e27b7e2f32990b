// Prometheus metrics: process defaults plus HTTP request counts and latencies by route.
import type { MiddlewareHandler } from 'hono'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export interface Metrics {
  registry: Registry
  middleware: MiddlewareHandler
}

/** The database's write counters (group commit: many writes share one commit under load). */
export type WriteStats = () => { writes: number; commits: number }

export function createMetrics(writeStats?: WriteStats): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'greenlight_' })
  if (writeStats) {
    new Gauge({
      name: 'greenlight_db_write_transactions',
      help: 'Write transactions requested by this process (each commits atomically on its own).',
      registers: [registry],
      collect() {
        this.set(writeStats().writes)
      },
    })
    new Gauge({
      name: 'greenlight_db_commits',
      help: 'Database commits by this process; writes requested together share one commit.',
      registers: [registry],
      collect() {
        this.set(writeStats().commits)
      },
    })
  }
  const requests = new Counter({
    name: 'greenlight_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'greenlight_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  return {
    registry,
    middleware: async (c, next) => {
      const start = performance.now()
      await next()
      // routePath is the matched pattern (/callbacks/:token), never the raw URL: bounded cardinality, no secrets.
      const route = c.req.routePath
      requests.inc({ method: c.req.method, route, status: String(c.res.status) })
      duration.observe({ method: c.req.method, route }, (performance.now() - start) / 1000)
    },
  }
}
