// A lean HTTP/1.1 client for benchmarks: node:http with a keep-alive agent. undici's fetch spends about as much CPU
// per request as the server does, and the benches share the machine's two cores with the server they measure.
import { Agent, request } from 'node:http'

export interface BenchResponse {
  status: number
  text: string
}

export function createBenchClient(baseUrl: string, sockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets })
  return {
    send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<BenchResponse> {
      return new Promise((resolve, reject) => {
        const all =
          body === undefined
            ? headers
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }
        const req = request(`${baseUrl}${path}`, { method, agent, headers: all }, (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.once('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          )
          response.once('error', reject)
        })
        req.once('error', reject)
        req.end(body)
      })
    },
    close: () => agent.destroy(),
  }
}
