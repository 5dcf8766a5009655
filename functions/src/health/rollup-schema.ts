// What healthRollup reads back: the public fields of healthCatalog/current it folds, and healthSummary/current.
import { z } from 'zod';

// The catalog holds definitions onHealthCheckWritten validated; this only checks the public fields folded here.
export const healthCatalogPublicSchema = z.object({
  checks: z
    .record(
      z.string(),
      z.looseObject({
        name: z.string(),
        tags: z.array(z.string()).default([]),
        sloTarget: z.number().gt(0).lte(100).default(99.9),
      }),
    )
    .default({}),
});

const bucketsSchema = z.record(z.string(), z.tuple([z.number(), z.number(), z.number()]));
export const healthSummaryDocSchema = z.object({
  updatedAtMs: z.number(),
  throughMs: z.number(),
  checks: z.record(
    z.string(),
    z.object({
      name: z.string(),
      tags: z.array(z.string()),
      sloTarget: z.number(),
      tenMinutes: bucketsSchema,
      hours: bucketsSchema,
      days: bucketsSchema,
    }),
  ),
});
