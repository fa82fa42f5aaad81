-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "maintenance" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "expiresAt" TIMESTAMP(3);

