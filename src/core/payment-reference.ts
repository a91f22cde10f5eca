// A tenant's payment-method reference: a billing provider's customer or payment-method id
// (Stripe's cus_… or pm_…, a processor's token). Card data is never stored, so a value that
// is a card number is refused outright.

const REFERENCE = /^[\x21-\x7e]{1,200}$/;

/** Luhn's check, which every card number passes. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * True when the value holds a card number: a run of 13 to 19 digits, perhaps split by
 * dashes, dots, underscores or slashes, that passes Luhn's check, anywhere in it
 * ("card:4242…" too). Only whole runs are read: a provider's long numeric id would hold some
 * window that passes Luhn by chance.
 */
export function looksLikeCardNumber(value: string): boolean {
  return (value.match(/\d(?:[-._/]?\d)*/g) ?? []).some((run) => {
    const digits = run.replace(/\D/g, "");
    return digits.length >= 13 && digits.length <= 19 && luhn(digits);
  });
}

/** Why `value` is not a reference to store, or null when it is one. */
export function paymentReferenceProblem(value: string): string | null {
  if (!REFERENCE.test(value)) {
    return "a billing provider's reference such as pm_1NzQ8x2eZvKYlo2C or cus_9s6XKzkNRiz8i3: 1 to 200 printable characters, no spaces";
  }
  if (looksLikeCardNumber(value)) {
    return "this is a card number: store your billing provider's customer or payment-method id, never card data";
  }
  return null;
}
