-- AlterEnum
ALTER TYPE "HostState" ADD VALUE 'revoked';

-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "doctor" JSONB,
ADD COLUMN     "enrolledAt" TIMESTAMP(3),
ADD COLUMN     "redisPasswordHash" TEXT,
ADD COLUMN     "redisUser" TEXT;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "submittedBy" TEXT;

-- CreateTable
CREATE TABLE "JoinToken" (
    "id" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "hostId" UUID,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JoinToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "details" JSONB,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "JoinToken_tokenHash_key" ON "JoinToken"("tokenHash");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

