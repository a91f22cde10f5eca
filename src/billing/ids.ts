// Ids of billing records: a prefix and 20 random base32 characters.

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

function randomId(prefix: string): string {
  let out = prefix;
  for (const byte of crypto.getRandomValues(new Uint8Array(20))) out += ALPHABET[byte % 32];
  return out;
}

export const newInvoiceId = () => randomId("inv_");
/** Also the `webhook-id` of every attempt of the delivery. */
export const newDeliveryId = () => randomId("msg_");
