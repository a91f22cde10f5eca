// Ids of billing records: a prefix and 20 random base32 characters.

import { newRandomId, TENANT_ID_SOURCE } from "../core/secrets";

export const newInvoiceId = () => newRandomId("inv_", 20);
/** Also the `webhook-id` of every attempt of the delivery. */
export const newDeliveryId = () => newRandomId("msg_", 20);

/**
 * A delivery's id: a random one, or a quota alert's (src/core/quota-alerts.ts alertDeliveryId:
 * tenant, day, policy and threshold), which the operator API must accept too, to list past it
 * and to redeliver it.
 */
export const DELIVERY_ID_PATTERN = new RegExp(
  `^msg_(?:[a-z2-7]{20}|qt_${TENANT_ID_SOURCE}_\\d{4}-\\d{2}-\\d{2}_[a-z]{1,20}_\\d{1,5})$`,
);
export const isDeliveryId = (id: string) => DELIVERY_ID_PATTERN.test(id);
