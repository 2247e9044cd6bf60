import type { OrderLine } from './order-schemas';

/** Messages the reference producer publishes, keyed by orderId. */
export interface OrderPlaced {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly OrderLine[];
}
export interface OrderNoteAdded {
  readonly orderId: string;
  readonly text: string;
}
export interface OrderCancelled {
  readonly orderId: string;
  /** The order's lines, so the consumer can release their reservations without reading the producer's table. */
  readonly items: readonly OrderLine[];
  readonly reason?: string;
}

export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly payload: OrderPlaced }
  | { readonly type: 'OrderNoteAdded'; readonly payload: OrderNoteAdded }
  | { readonly type: 'OrderCancelled'; readonly payload: OrderCancelled };
