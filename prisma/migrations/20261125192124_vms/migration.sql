-- CreateEnum
CREATE TYPE "VmStatus" AS ENUM ('creating', 'managed', 'unmanaged', 'missing');

-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "inventoryAt" TIMESTAMP(3),
ADD COLUMN     "networks" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "pools" JSONB NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "placement" JSONB;

-- CreateTable
CREATE TABLE "Vm" (
    "id" UUID NOT NULL,
    "hostId" UUID NOT NULL,
    "uuid" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "VmStatus" NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'nostate',
    "reason" TEXT,
    "persistent" BOOLEAN NOT NULL DEFAULT true,
    "autostart" BOOLEAN NOT NULL DEFAULT false,
    "vcpus" INTEGER NOT NULL DEFAULT 0,
    "maxVcpus" INTEGER NOT NULL DEFAULT 0,
    "memoryMiB" INTEGER NOT NULL DEFAULT 0,
    "maxMemoryMiB" INTEGER NOT NULL DEFAULT 0,
    "virtType" TEXT,
    "disks" JSONB NOT NULL DEFAULT '[]',
    "interfaces" JSONB NOT NULL DEFAULT '[]',
    "graphics" JSONB NOT NULL DEFAULT '[]',
    "snapshots" JSONB NOT NULL DEFAULT '[]',
    "serialLog" TEXT,
    "xml" TEXT,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "spec" JSONB,
    "seenAt" TIMESTAMP(3),
    "stateChangedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Vm_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Vm_hostId_name_idx" ON "Vm"("hostId", "name");

-- CreateIndex
CREATE INDEX "Vm_createdAt_id_idx" ON "Vm"("createdAt" DESC, "id");

-- CreateIndex
CREATE UNIQUE INDEX "Vm_hostId_uuid_key" ON "Vm"("hostId", "uuid");

-- AddForeignKey
ALTER TABLE "Vm" ADD CONSTRAINT "Vm_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

