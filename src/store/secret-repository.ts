// Encrypted secrets (nonce, ciphertext, tag); values are sealed and opened by the engine, never stored in clear.
import { asc, eq } from 'drizzle-orm'
import type { SecretRecord, SecretRepository } from '../engine/secrets.ts'
import type { Database } from './database.ts'
import { secrets } from './schema.ts'

export function createSecretRepository(database: Database): SecretRepository {
  const { db } = database
  return {
    async put(record: SecretRecord) {
      await database.write((tx) =>
        tx
          .insert(secrets)
          .values(record)
          .onConflictDoUpdate({
            target: secrets.name,
            set: { nonce: record.nonce, ciphertext: record.ciphertext, tag: record.tag, updatedAt: record.updatedAt },
          }),
      )
    },
    get: async (name) => db.select().from(secrets).where(eq(secrets.name, name)).get(),
    list: async () =>
      db
        .select({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
        .from(secrets)
        .orderBy(asc(secrets.name))
        .all(),
    async delete(name) {
      const removed = await database.write((tx) =>
        tx.delete(secrets).where(eq(secrets.name, name)).returning({ name: secrets.name }),
      )
      return removed.length > 0
    },
  }
}
