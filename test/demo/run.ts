/**
 * `npm run demo`: a real run of cbhs with no HubSpot account and no coreBOS installation.
 *
 * Creates the database `cbhs_demo` on the local MariaDB from the real coreBOS schema, fills it with a
 * few hundred realistic records, starts the HubSpot emulator, and runs the real `cbhs` binary:
 * setup, push, a few edits on the HubSpot side, pull, status. Activity sync is on: a comment and a call
 * logged in coreBOS reach HubSpot as a note and a call, and a note and a call logged in HubSpot reach
 * coreBOS as a comment and a calendar call. Re-running starts clean.
 *
 * Connection: CBHS_DEMO_DB_HOST / _PORT / _USER / _PASSWORD (default 127.0.0.1:3306, root, empty).
 */
import {spawn, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import mysql from 'mysql2/promise'
import {createPool} from '../../src/corebos/connection.js'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {startEmulator} from '../../src/emulator/index.js'
import {addCalendar, addComment} from '../support/corebos-activities.js'
import type {TestDatabase} from '../support/db.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCHEMA = fileURLToPath(new URL('../fixtures/corebos-schema-2021.sql', import.meta.url))
const DATABASE = process.env.CBHS_DEMO_DB_NAME ?? 'cbhs_demo'
const server = {
  host: process.env.CBHS_DEMO_DB_HOST ?? '127.0.0.1',
  port: Number(process.env.CBHS_DEMO_DB_PORT ?? 3306),
  user: process.env.CBHS_DEMO_DB_USER ?? 'root',
  password: process.env.CBHS_DEMO_DB_PASSWORD ?? '',
}

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'John', 'Radia', 'Tim', 'Hedy', 'Edsger', 'Joan', 'Niklaus']
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'McCarthy', 'Perlman', 'Berners-Lee', 'Lamarr', 'Dijkstra', 'Clarke', 'Wirth']
const COMPANIES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent', 'Wonka', 'Aperture', 'Gringotts', 'Oscorp', 'Duff']
const CITIES = ['Madrid', 'Valencia', 'Sevilla', 'Bilbao', 'Barcelona', 'Zaragoza', 'Málaga', 'Girona']
const STAGES = ['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost']

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`)
}

async function main(): Promise<void> {
  say(`Creating the coreBOS demo database '${DATABASE}' on ${server.host}:${server.port} from the real coreBOS schema`)
  const admin = await mysql.createConnection({...server, multipleStatements: true})
  await admin.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``)
  await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8 COLLATE utf8_general_ci`)
  await admin.query(`USE \`${DATABASE}\``)
  await admin.query(readFileSync(SCHEMA, 'utf8'))
  await admin.end()

  const emulator = await startEmulator({token: 'demo-token', shuffleBatchResults: true})
  const env = {
    CBHS_DB_HOST: server.host,
    CBHS_DB_PORT: String(server.port),
    CBHS_DB_USER: server.user,
    CBHS_DB_PASSWORD: server.password,
    CBHS_DB_NAME: DATABASE,
    CBHS_HUBSPOT_URL: emulator.url,
    HUBSPOT_ACCESS_TOKEN: emulator.token,
    CBHS_ACTIVITIES: 'true',
  }
  const cbhs = (...args: string[]) => {
    process.stdout.write(`\n$ cbhs ${args.join(' ')}\n`)
    return runChild(args, env)
  }

  try {
    say(`HubSpot emulator listening on ${emulator.url} (it stands in for api.hubapi.com)`)
    await cbhs('setup')

    say('Filling coreBOS with realistic records (opted in to sync)')
    const pool = createPool({...server, database: DATABASE, timezone: 'UTC'})
    const records = new CoreBosRecords(pool, {timezone: 'UTC'})
    const pick = <T>(list: T[], i: number) => list[i % list.length]
    const opted = {hubspotsyncwith: '1'}
    const accounts = await records.create(
      'Accounts',
      COMPANIES.map((name, i) => ({
        fields: {accountname: `${name} ${i < 8 ? 'S.L.' : 'Inc.'}`, phone: `+34 91 555 ${String(1000 + i)}`, website: `${name.toLowerCase()}.example`, bill_city: pick(CITIES, i), employees: String(10 * (i + 1))},
        control: opted,
      })),
      1,
    )
    const contacts = await records.create(
      'Contacts',
      Array.from({length: 200}, (_, i) => ({
        fields: {
          firstname: pick(FIRST, i),
          lastname: `${pick(LAST, i * 7)}${i >= LAST.length ? ` ${i}` : ''}`,
          email: `${pick(FIRST, i).toLowerCase()}.${i}@${pick(COMPANIES, i).toLowerCase()}.example`,
          phone: `+34 600 ${String(100000 + i)}`,
          title: pick(['CEO', 'CTO', 'Buyer', 'Engineer', 'Office manager'], i),
          mailingcity: pick(CITIES, i),
          account_id: String(accounts[i % accounts.length].crmid),
        },
        control: opted,
      })),
      1,
    )
    await records.create(
      'Leads',
      Array.from({length: 60}, (_, i) => ({
        fields: {firstname: pick(FIRST, i + 3), lastname: `Prospect ${i}`, company: `${pick(COMPANIES, i + 5)} Labs`, email: `lead${i}@prospects.example`, leadstatus: pick(['Not Contacted', 'Cold', 'Warm', 'Contacted'], i)},
        control: opted,
      })),
      1,
    )
    await records.create(
      'Potentials',
      Array.from({length: 80}, (_, i) => ({
        fields: {
          potentialname: `${pick(COMPANIES, i)} ${pick(['renewal', 'expansion', 'pilot', 'support plan'], i)} ${2026 + (i % 2)}`,
          related_to: String(i % 3 === 0 ? contacts[i].crmid : accounts[i % accounts.length].crmid),
          sales_stage: pick(STAGES, i),
          amount: String(1000 + 250 * i),
          closingdate: `2027-0${1 + (i % 9)}-15`,
        },
        control: opted,
      })),
      1,
    )
    // logged the way coreBOS's own save writes a comment and a calendar call
    const sql = {query: async (q: string, params: unknown[] = []) => (await pool.query(q, params))[0]} as unknown as TestDatabase
    await addComment(sql, contacts[0].crmid, 'Prefers e-mail over phone; renewal talks in March')
    await addCalendar(sql, {activitytype: 'Call', subject: 'Renewal call', description: 'Asked for the new price list', dtstart: '2027-01-12 10:00:00', dtend: '2027-01-12 10:20:00', eventstatus: 'Held', contacts: [contacts[0].crmid]})
    await pool.end()
    process.stdout.write('16 accounts, 200 contacts, 60 leads, 80 potentials; a comment and a call on the first contact\n')

    say('HubSpot already has some objects of its own')
    const hsPeople = emulator.control.seed('contacts', [
      {firstname: 'Katherine', lastname: 'Johnson', email: 'katherine@nasa.example', lifecyclestage: 'customer', phone: '+1 757 555 0100'},
      {firstname: 'Dorothy', lastname: 'Vaughan', email: 'dorothy@nasa.example', lifecyclestage: 'opportunity'},
      {firstname: 'Mary', lastname: 'Jackson', email: 'mary@nasa.example', lifecyclestage: 'lead'},
      {firstname: 'Annie', lastname: 'Easley', email: 'annie@nasa.example', lifecyclestage: 'subscriber'},
    ])
    const [nasa] = emulator.control.seed('companies', [{name: 'NASA Langley', domain: 'nasa.example', city: 'Hampton'}])
    emulator.control.associate('contacts', hsPeople[0].id, 'companies', nasa.id)
    const [deal] = emulator.control.seed('deals', [{dealname: 'Langley wind tunnel', dealstage: 'qualifiedtobuy', pipeline: 'default', amount: '42000', closedate: '2027-03-01T00:00:00.000Z'}])
    emulator.control.associate('deals', deal.id, 'contacts', hsPeople[0].id)
    const [note] = emulator.control.seed('notes', [{hs_timestamp: '2027-01-20T15:00:00.000Z', hs_note_body: 'Wants a second wind tunnel quote'}])
    emulator.control.associate('notes', note.id, 'contacts', hsPeople[0].id)
    const [call] = emulator.control.seed('calls', [{hs_timestamp: '2027-01-21T09:30:00.000Z', hs_call_title: 'Quote follow-up', hs_call_body: 'Budget approved', hs_call_duration: '900000', hs_call_status: 'COMPLETED', hs_call_direction: 'OUTBOUND'}])
    emulator.control.associate('calls', call.id, 'contacts', hsPeople[0].id)
    emulator.control.associate('calls', call.id, 'deals', deal.id)
    process.stdout.write('4 contacts, 1 company and 1 deal created in HubSpot; a note and a call logged on Katherine Johnson\n')

    say('Push: coreBOS → HubSpot')
    await cbhs('push')

    say('Meanwhile people work in HubSpot: edits, a stage change, an archived contact')
    const hsContacts = emulator.control.all('contacts').filter((c) => c.properties.corebos_crmid && c.properties.lifecyclestage !== 'lead')
    for (const c of hsContacts.slice(0, 5)) emulator.control.update('contacts', c.id, {phone: '+34 699 000 000', jobtitle: 'Updated in HubSpot'})
    const hsDeals = emulator.control.all('deals').filter((d) => d.properties.corebos_crmid)
    emulator.control.update('deals', hsDeals[0].id, {dealstage: 'closedwon'})
    emulator.control.archive('contacts', hsContacts[10].id)
    process.stdout.write(`5 contacts edited, deal '${hsDeals[0].properties.dealname}' won, contact ${hsContacts[10].properties.email} archived\n`)

    say('Pull: HubSpot → coreBOS (a first pull reads everything; later ones only what changed)')
    await cbhs('pull')

    say('Push again: what pull wrote into coreBOS is not sent back (no ping-pong)')
    await cbhs('push')

    say('Status')
    await cbhs('status')

    say('What moved')
    const check = mysql.createPool({...server, database: DATABASE})
    const [[moved]] = (await check.query(`SELECT
      (SELECT COUNT(*) FROM cbhs_link) AS links,
      (SELECT COUNT(*) FROM vtiger_contactdetails WHERE hubspotcreated = '1') AS contactsFromHubSpot,
      (SELECT COUNT(*) FROM vtiger_leaddetails WHERE hubspotcreated = '1') AS leadsFromHubSpot,
      (SELECT COUNT(*) FROM vtiger_account WHERE hubspotcreated = '1') AS accountsFromHubSpot,
      (SELECT COUNT(*) FROM vtiger_potential WHERE hubspotcreated = '1') AS potentialsFromHubSpot,
      (SELECT COUNT(*) FROM vtiger_contactdetails WHERE hubspotdeleted = '1') AS markedDeleted,
      (SELECT COUNT(*) FROM vtiger_contactdetails WHERE title = 'Updated in HubSpot') AS editedFromHubSpot`)) as unknown as [Array<Record<string, number>>]
    const [fromHubSpot] = (await check.query(`SELECT
      (SELECT m.commentcontent FROM vtiger_modcomments m JOIN cbhs_link l ON l.module = 'ModComments' AND l.crmid = m.modcommentsid AND l.object_type = 'notes'
        JOIN vtiger_contactdetails c ON c.contactid = m.related_to WHERE c.lastname = 'Johnson' LIMIT 1) AS comment,
      (SELECT CONCAT(a.subject, ', ', a.eventstatus, ', ', a.dtstart, ' to ', a.dtend) FROM vtiger_activity a JOIN cbhs_link l ON l.module = 'cbCalendar' AND l.crmid = a.activityid AND l.object_type = 'calls'
        JOIN vtiger_cntactivityrel r ON r.activityid = a.activityid JOIN vtiger_contactdetails c ON c.contactid = r.contactid WHERE c.lastname = 'Johnson' LIMIT 1) AS calendarCall`)) as unknown as [Array<Record<string, string | null>>]
    await check.end()
    process.stdout.write(
      [
        `coreBOS → HubSpot: 16 companies, 200 contacts, 60 leads (as contacts with lifecycle stage 'lead'), 80 deals, with their associations`,
        `HubSpot → coreBOS: ${moved.accountsFromHubSpot} account, ${moved.contactsFromHubSpot} contacts, ${moved.leadsFromHubSpot} leads (by lifecycle stage), ${moved.potentialsFromHubSpot} potential; ${moved.editedFromHubSpot} edited contacts; ${moved.markedDeleted} contact marked deleted in HubSpot`,
        `coreBOS → HubSpot: ${emulator.control.all('notes').filter((n) => n.properties.corebos_crmid && n.properties.hs_note_body?.startsWith('Prefers')).length} note ('Prefers e-mail…') and ${emulator.control.all('calls').filter((n) => n.properties.hs_call_title === 'Renewal call').length} call ('Renewal call') on the first contact, associated with its HubSpot contact`,
        `HubSpot → coreBOS: the note became the comment '${fromHubSpot[0]?.comment ?? '(missing)'}' and the call the calendar call '${fromHubSpot[0]?.calendarCall ?? '(missing)'}' on Katherine Johnson`,
        `${moved.links} records linked in all. Run 'npm run demo' again to start over; the database '${DATABASE}' stays for you to look at.`,
      ].join('\n') + '\n',
    )
  } finally {
    await emulator.close()
  }
}

/** Runs the real binary while this process keeps serving the emulator. */
function runChild(args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    // async: the emulator in this process must keep answering while the child runs
    const child = spawn(process.execPath, [`${ROOT}bin/run.js`, ...args], {stdio: 'inherit', env: {...process.env, ...env}})
    child.on('error', reject)
    child.on('close', (code) => (code === 0 || code === 5 ? resolve() : reject(new Error(`cbhs ${args.join(' ')} exited ${code}`))))
  })
}

// dist/ must match the sources: the demo runs the compiled binary
spawnSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], {cwd: ROOT, stdio: 'inherit'})
main().catch((error) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`)
  process.exit(1)
})
