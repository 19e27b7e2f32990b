// Prometheus metrics: process defaults plus HTTP request counts and latencies by route.
import type { MiddlewareHandler } from 'hono'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export interface Metrics {
  registry: Registry
  middleware: MiddlewareHandler
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'greenlight_' })
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
