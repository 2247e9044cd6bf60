import { z } from 'zod';

/** Ids in paths and bodies: safe in keys, URLs and logs. */
export const orderIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 characters of letters, digits, "_" or "-"');
export const skuSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"');

export const MAX_ITEMS_PER_ORDER = 50;

/** A lone UTF-16 surrogate (from a `\ud800` escape): not Unicode text, and no UTF-8 store can keep it. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Control characters (C0, DEL, C1). */
const CONTROL = /\p{Cc}/u;
/** Control characters other than tab, line feed and carriage return. */
const CONTROL_BUT_LINE_BREAKS = /[^\P{Cc}\t\n\r]/u;

/** Free text: well-formed Unicode, no control characters but line breaks and tabs, not blank. */
function freeText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !LONE_SURROGATE.test(text), 'must be well-formed Unicode (no lone surrogates)')
    .refine((text) => !CONTROL_BUT_LINE_BREAKS.test(text), 'must not contain control characters')
    .refine((text) => text.trim() !== '', 'must not be blank');
}

/**
 * The customer's id: 1 to 128 characters once trimmed, any printable Unicode (it is stored and echoed, never
 * used in a key or a URL).
 */
const customerIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .refine((text) => !LONE_SURROGATE.test(text), 'must be well-formed Unicode (no lone surrogates)')
  .refine((text) => !CONTROL.test(text), 'must not contain control characters');

/**
 * DynamoDB stores numbers of magnitude 1e-130 to 1e126: a smaller amount would be refused by the payment's write,
 * after its half message was prepared.
 */
export const MIN_PAYMENT_AMOUNT = 1e-130;
export const MAX_PAYMENT_AMOUNT = 1_000_000_000;

export const placeOrderSchema = z.strictObject({
  customerId: customerIdSchema,
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

/** The longest note, in characters (UTF-16 code units). */
export const MAX_NOTE_LENGTH = 2000;
/**
 * An order keeps at most this many notes, and at most MAX_NOTES_BYTES of note text (UTF-8): the order's item stays
 * far below DynamoDB's 400 KB, whatever the text (100 notes of 2,000 three-byte characters would be 600 KB).
 */
export const MAX_NOTES_PER_ORDER = 100;
export const MAX_NOTES_BYTES = 200 * 1024;

export const addNoteSchema = z.strictObject({
  text: freeText(MAX_NOTE_LENGTH),
  /** Optimistic concurrency: when given, the note is added only if the order is at this version (else 409). */
  expectedVersion: z.number().int().min(1).optional(),
});

export const cancelOrderSchema = z.strictObject({
  reason: freeText(500).optional(),
});

export const capturePaymentSchema = z.strictObject({
  amount: z
    .number()
    .min(MIN_PAYMENT_AMOUNT, 'must be greater than 0 (at least 1e-130, the smallest number DynamoDB stores)')
    .max(MAX_PAYMENT_AMOUNT),
});

export type PlaceOrderInput = z.infer<typeof placeOrderSchema>;
export type AddNoteInput = z.infer<typeof addNoteSchema>;
export type CancelOrderInput = z.infer<typeof cancelOrderSchema>;
export type OrderLine = PlaceOrderInput['items'][number];
