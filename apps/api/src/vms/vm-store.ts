import type { DomainInventory } from '@virtfleet/contracts';
import type { RawSql } from '../db/pg.service';

/** Prisma (a job's effect inside its transaction) or `pg` (inventory reports, pg.service.ts). */
type Db = RawSql;

/** A VM row the store changed, for events. */
export interface ChangedVm {
  id: string;
  uuid: string;
  name: string;
  status: string;
  state: string;
}

// One statement for any number of domains: a 1,000-domain inventory is one round trip, and rows
// whose domain did not change are not written at all. News older than what a row holds (seenAt,
// the agent's clock) is ignored, so a late full snapshot cannot undo a newer event or job result.
const UPSERT = `
INSERT INTO "Vm" ("id","hostId","uuid","name","status","state","reason","persistent","autostart","vcpus","maxVcpus",
  "memoryMiB","maxMemoryMiB","virtType","disks","interfaces","graphics","snapshots","serialLog","xml","seenAt",
  "stateChangedAt","createdAt","updatedAt")
SELECT gen_random_uuid(), $1::uuid, d.uuid, d.name, 'unmanaged'::"VmStatus", d.state, d.reason, d.persistent, d.autostart,
  d.vcpus, d."maxVcpus", d."memoryMiB", d."maxMemoryMiB", d."virtType", d.disks, d.interfaces, d.graphics, d.snapshots,
  d."serialLog", d.xml, $2::timestamp(3), $2::timestamp(3), now(), now()
FROM jsonb_to_recordset($3::jsonb) AS d(uuid uuid, name text, state text, reason text, persistent boolean, autostart boolean,
  vcpus int, "maxVcpus" int, "memoryMiB" int, "maxMemoryMiB" int, "virtType" text, disks jsonb, interfaces jsonb,
  graphics jsonb, snapshots jsonb, "serialLog" text, xml text)
ON CONFLICT ("hostId","uuid") DO UPDATE SET
  "name" = EXCLUDED."name",
  "status" = CASE WHEN "Vm"."status" IN ('creating','missing') THEN 'managed'::"VmStatus" ELSE "Vm"."status" END,
  "state" = EXCLUDED."state", "reason" = EXCLUDED."reason", "persistent" = EXCLUDED."persistent",
  "autostart" = EXCLUDED."autostart", "vcpus" = EXCLUDED."vcpus", "maxVcpus" = EXCLUDED."maxVcpus",
  "memoryMiB" = EXCLUDED."memoryMiB", "maxMemoryMiB" = EXCLUDED."maxMemoryMiB", "virtType" = EXCLUDED."virtType",
  "disks" = EXCLUDED."disks", "interfaces" = EXCLUDED."interfaces", "graphics" = EXCLUDED."graphics",
  "snapshots" = EXCLUDED."snapshots", "serialLog" = EXCLUDED."serialLog", "xml" = EXCLUDED."xml",
  "stateChangedAt" = CASE WHEN "Vm"."state" IS DISTINCT FROM EXCLUDED."state" THEN EXCLUDED."seenAt" ELSE "Vm"."stateChangedAt" END,
  "seenAt" = EXCLUDED."seenAt", "updatedAt" = now()
WHERE ("Vm"."seenAt" IS NULL OR "Vm"."seenAt" <= EXCLUDED."seenAt")
  AND ("Vm"."status" IN ('creating','missing')
    OR ("Vm"."name","Vm"."state","Vm"."reason","Vm"."persistent","Vm"."autostart","Vm"."vcpus","Vm"."maxVcpus",
        "Vm"."memoryMiB","Vm"."maxMemoryMiB","Vm"."virtType","Vm"."xml","Vm"."snapshots","Vm"."disks","Vm"."interfaces",
        "Vm"."graphics","Vm"."serialLog")
       IS DISTINCT FROM
       (EXCLUDED."name",EXCLUDED."state",EXCLUDED."reason",EXCLUDED."persistent",EXCLUDED."autostart",EXCLUDED."vcpus",
        EXCLUDED."maxVcpus",EXCLUDED."memoryMiB",EXCLUDED."maxMemoryMiB",EXCLUDED."virtType",EXCLUDED."xml",
        EXCLUDED."snapshots",EXCLUDED."disks",EXCLUDED."interfaces",EXCLUDED."graphics",EXCLUDED."serialLog"))
RETURNING "id", "uuid"::text AS "uuid", "name", "status"::text AS "status", "state"`;

/** A domain as the columns UPSERT reads (jsonb_to_recordset). */
function vmRow(d: DomainInventory) {
  return {
    uuid: d.uuid,
    name: d.name,
    state: d.state,
    reason: d.reason ?? null,
    persistent: d.persistent,
    autostart: d.autostart,
    vcpus: d.vcpus,
    maxVcpus: d.maxVcpus,
    memoryMiB: d.memoryMiB,
    maxMemoryMiB: d.maxMemoryMiB,
    virtType: d.virtType ?? null,
    disks: d.disks,
    interfaces: d.interfaces,
    graphics: d.graphics,
    snapshots: d.snapshots,
    serialLog: d.serialLog ?? null,
    xml: d.xml,
  };
}

/** Writes what the host says about these domains; new ones appear as unmanaged. */
export async function upsertDomains(db: Db, hostId: string, domains: readonly DomainInventory[], takenAt: Date): Promise<ChangedVm[]> {
  if (domains.length === 0) return [];
  return db.$queryRawUnsafe<ChangedVm[]>(UPSERT, hostId, takenAt, JSON.stringify(domains.map(vmRow)));
}

const RETURNING = `"id", "uuid"::text AS "uuid", "name", "status"::text AS "status", "state"`;

// A full inventory in one statement (one round trip, atomic by itself): the domains upserted,
// ours that are absent marked missing, unmanaged absent ones dropped (they were never ours), the
// host's networks and pools replaced. Rows seen after the snapshot are left alone, and so are VMs
// still being created. The parts touch disjoint rows (present UUIDs against absent ones).
const FULL = `
WITH upserted AS (${UPSERT}),
missing AS (
  UPDATE "Vm" SET "status" = 'missing', "updatedAt" = now()
  WHERE "hostId" = $1::uuid AND "status" = 'managed' AND ("seenAt" IS NULL OR "seenAt" < $2::timestamp(3))
    AND NOT ("uuid" = ANY($4::uuid[]))
  RETURNING ${RETURNING}),
dropped AS (
  DELETE FROM "Vm"
  WHERE "hostId" = $1::uuid AND "status" = 'unmanaged' AND ("seenAt" IS NULL OR "seenAt" < $2::timestamp(3))
    AND NOT ("uuid" = ANY($4::uuid[]))
  RETURNING "id", "uuid"::text AS "uuid", "name", 'removed' AS "status", "state"),
host AS (
  UPDATE "Host" SET "networks" = $5::jsonb, "pools" = $6::jsonb, "inventoryAt" = $2::timestamp(3), "updatedAt" = now()
  WHERE "id" = $1::uuid)
SELECT * FROM upserted UNION ALL SELECT * FROM missing UNION ALL SELECT * FROM dropped`;

/** A host's full inventory (see FULL): answers the VM rows it changed. */
export async function applyFullInventory(
  db: Db,
  hostId: string,
  inv: { domains: readonly DomainInventory[]; networks: unknown; pools: unknown },
  takenAt: Date,
): Promise<ChangedVm[]> {
  const present = inv.domains.map((d) => d.uuid);
  return db.$queryRawUnsafe<ChangedVm[]>(FULL, hostId, takenAt, JSON.stringify(inv.domains.map(vmRow)), present, JSON.stringify(inv.networks), JSON.stringify(inv.pools));
}

/** One domain is gone (libvirt event): by UUID when known, else by name. */
export async function markGone(db: Db, hostId: string, ref: { uuid?: string; name: string }, takenAt: Date): Promise<ChangedVm[]> {
  const match = ref.uuid ? `"uuid" = $3::uuid` : `"name" = $3`;
  const key = ref.uuid ?? ref.name;
  const missing = await db.$queryRawUnsafe<ChangedVm[]>(
    `UPDATE "Vm" SET "status" = 'missing', "seenAt" = $2::timestamp(3), "updatedAt" = now()
     WHERE "hostId" = $1::uuid AND ${match} AND "status" = 'managed' AND ("seenAt" IS NULL OR "seenAt" <= $2::timestamp(3))
     RETURNING "id", "uuid"::text AS "uuid", "name", "status"::text AS "status", "state"`,
    hostId,
    takenAt,
    key,
  );
  const dropped = await db.$queryRawUnsafe<ChangedVm[]>(
    `DELETE FROM "Vm" WHERE "hostId" = $1::uuid AND ${match} AND "status" = 'unmanaged'
       AND ("seenAt" IS NULL OR "seenAt" <= $2::timestamp(3))
     RETURNING "id", "uuid"::text AS "uuid", "name", 'removed' AS "status", "state"`,
    hostId,
    takenAt,
    key,
  );
  return [...missing, ...dropped];
}
