// Standard Webhooks signatures: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.

const PREFIX = "whsec_";

/** True for a `whsec_` secret whose key is base64 of at least 24 bytes. */
export function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  try {
    return base64Decode(secret.slice(PREFIX.length)).length >= 24;
  } catch {
    return false;
  }
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64Encode(bytes: ArrayBuffer): string {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * The `webhook-signature` header for one attempt: a space-separated `v1,` signature per
 * secret, so a receiver that knows either the old or the new secret verifies it while
 * the secret is being rotated.
 */
export async function signWebhook(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const content = new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      if (!isWebhookSecret(secret)) throw new Error("a webhook secret must be whsec_ and base64 of at least 24 bytes");
      const key = await crypto.subtle.importKey(
        "raw",
        base64Decode(secret.slice(PREFIX.length)),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return `v1,${base64Encode(await crypto.subtle.sign("HMAC", key, content))}`;
    }),
  );
  return signatures.join(" ");
}
