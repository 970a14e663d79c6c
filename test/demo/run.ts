/**
 * `npm run demo`: a real run of cbhs with no HubSpot account and no coreBOS installation.
 *
 * Creates the database `cbhs_demo` on the local MariaDB from the real coreBOS schema, fills it with a
 * few hundred realistic records, starts the HubSpot emulator, and runs the real `cbhs` binary:
 * setup, push, a few edits on the HubSpot side, pull, status. Re-running starts clean.
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
    await pool.end()
    process.stdout.write('16 accounts, 200 contacts, 60 leads, 80 potentials\n')

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
    process.stdout.write('4 contacts, 1 company and 1 deal created in HubSpot\n')

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
    await check.end()
    process.stdout.write(
      [
        `coreBOS → HubSpot: 16 companies, 200 contacts, 60 leads (as contacts with lifecycle stage 'lead'), 80 deals, with their associations`,
        `HubSpot → coreBOS: ${moved.accountsFromHubSpot} account, ${moved.contactsFromHubSpot} contacts, ${moved.leadsFromHubSpot} leads (by lifecycle stage), ${moved.potentialsFromHubSpot} potential; ${moved.editedFromHubSpot} edited contacts; ${moved.markedDeleted} contact marked deleted in HubSpot`,
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
