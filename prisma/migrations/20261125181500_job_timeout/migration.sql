-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "timeoutMs" INTEGER;

