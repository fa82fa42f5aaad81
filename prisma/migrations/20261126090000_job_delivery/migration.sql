-- AlterTable: the delivery that claimed a job's current attempt (a repeated claim keeps it)
ALTER TABLE "Job" ADD COLUMN     "deliveryId" UUID;
