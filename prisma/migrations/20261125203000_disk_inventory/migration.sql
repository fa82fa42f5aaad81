-- AlterTable
ALTER TABLE "Disk" ADD COLUMN     "backingFile" TEXT,
ADD COLUMN     "backingFormat" TEXT,
ADD COLUMN     "path" TEXT,
ADD COLUMN     "seenAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "isos" JSONB NOT NULL DEFAULT '[]';

