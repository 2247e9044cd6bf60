import { z } from 'zod';

/** Ids in paths and bodies: safe in keys, URLs and logs. */
export const orderIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 characters of letters, digits, "_" or "-"');
export const skuSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"');

export const MAX_ITEMS_PER_ORDER = 50;

export const placeOrderSchema = z.strictObject({
  customerId: z.string().trim().min(1).max(128),
  items: z
    .array(
      z.strictObject({
        sku: skuSchema,
        quantity: z.number().int().min(1).max(1_000_000),
      }),
    )
    .min(1)
    .max(MAX_ITEMS_PER_ORDER),
  orderId: orderIdSchema.optional(),
});

export const addNoteSchema = z.strictObject({
  text: z.string().min(1).max(2000),
  /** Optimistic concurrency: when given, the note is added only if the order is at this version (else 409). */
  expectedVersion: z.number().int().min(1).optional(),
});

export const cancelOrderSchema = z.strictObject({
  reason: z.string().max(500).optional(),
});

export const capturePaymentSchema = z.strictObject({
  amount: z.number().positive().max(1_000_000_000),
});

export type PlaceOrderInput = z.infer<typeof placeOrderSchema>;
export type AddNoteInput = z.infer<typeof addNoteSchema>;
export type CancelOrderInput = z.infer<typeof cancelOrderSchema>;
export type OrderLine = PlaceOrderInput['items'][number];
