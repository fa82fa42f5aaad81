-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "cancelRequestedAt" TIMESTAMP(3),
ADD COLUMN     "lockKey" TEXT,
ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Job_seq_key" ON "Job"("seq");

-- CreateIndex
CREATE INDEX "Job_hostId_lockKey_seq_idx" ON "Job"("hostId", "lockKey", "seq");

