/**
 * Who may own a coreBOS record: users (vtiger_users, matched to HubSpot owners by email1) and
 * groups (vtiger_groups; smownerid holds either id, as assigned_user_id does).
 */
import type {CrmOwners} from '../sync/ports.js'
import type {Pool} from './connection.js'

export async function readCrmOwners(pool: Pool): Promise<CrmOwners> {
  const [users] = await pool.query('SELECT id, email1, status, deleted FROM vtiger_users ORDER BY id')
  const [groups] = await pool.query('SELECT groupid FROM vtiger_groups ORDER BY groupid')
  return {
    users: (users as Array<{id: number | string; email1: string | null; status: string | null; deleted: number | string}>).map((u) => ({
      id: Number(u.id),
      email: (u.email1 ?? '').trim().toLowerCase(),
      active: u.status === 'Active' && Number(u.deleted) === 0,
    })),
    groupIds: (groups as Array<{groupid: number | string}>).map((g) => Number(g.groupid)),
  }
}
