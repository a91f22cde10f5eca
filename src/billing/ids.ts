// Ids of billing records: a prefix and 20 random base32 characters.

import { newRandomId } from "../core/secrets";

export const newInvoiceId = () => newRandomId("inv_", 20);
/** Also the `webhook-id` of every attempt of the delivery. */
export const newDeliveryId = () => newRandomId("msg_", 20);
