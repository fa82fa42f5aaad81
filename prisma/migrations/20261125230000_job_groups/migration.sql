-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "concurrencyKey" TEXT,
ADD COLUMN     "concurrencyLimit" INTEGER,
ADD COLUMN     "group" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "parentId" UUID;

-- CreateIndex
CREATE INDEX "Job_hostId_concurrencyKey_seq_idx" ON "Job"("hostId", "concurrencyKey", "seq");

-- CreateIndex
CREATE INDEX "Job_parentId_idx" ON "Job"("parentId");

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

