/**
 * Each test file gets its own database on the local MariaDB, loaded from the real coreBOS schema
 * (test/fixtures/corebos-schema-2021.sql) and dropped afterwards.
 * Connection: CBHS_TEST_DB_HOST / _PORT / _USER / _PASSWORD (default 127.0.0.1:3306, root, empty).
 */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import mysql from 'mysql2/promise'

export interface TestDbSettings {
  host: string
  port: number
  user: string
  password: string
  database: string
}

export interface TestDatabase {
  settings: TestDbSettings
  /** a pool on the test database (dateStrings on, as cbhs uses it) */
  pool: mysql.Pool
  /** run one statement and return its rows */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  drop(): Promise<void>
}

const FIXTURE = fileURLToPath(new URL('../fixtures/corebos-schema-2021.sql', import.meta.url))
let fixtureSql: string | undefined

export function testServer(): Omit<TestDbSettings, 'database'> {
  return {
    host: process.env.CBHS_TEST_DB_HOST ?? '127.0.0.1',
    port: Number(process.env.CBHS_TEST_DB_PORT ?? 3306),
    user: process.env.CBHS_TEST_DB_USER ?? 'root',
    password: process.env.CBHS_TEST_DB_PASSWORD ?? '',
  }
}

/** Creates a fresh database holding the coreBOS schema. `empty` skips the schema (a non-coreBOS database). */
export async function createTestDatabase(options: {empty?: boolean} = {}): Promise<TestDatabase> {
  const server = testServer()
  const database = `cbhs_t_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = await mysql.createConnection({...server, multipleStatements: true})
  try {
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8 COLLATE utf8_general_ci`)
    if (!options.empty) {
      fixtureSql ??= readFileSync(FIXTURE, 'utf8')
      await admin.query(`USE \`${database}\``)
      await admin.query(fixtureSql)
    }
  } finally {
    await admin.end()
  }
  const settings = {...server, database}
  const pool = mysql.createPool({...settings, dateStrings: true, connectionLimit: 5, charset: 'UTF8MB4_GENERAL_CI'})
  return {
    settings,
    pool,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await pool.query(sql, params)
      return rows as T[]
    },
    async drop() {
      await pool.end()
      const conn = await mysql.createConnection(server)
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${database}\``)
      } finally {
        await conn.end()
      }
    },
  }
}
