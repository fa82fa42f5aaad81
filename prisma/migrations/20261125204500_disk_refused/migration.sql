-- AlterTable
ALTER TABLE "Disk" ADD COLUMN     "refused" TEXT;

