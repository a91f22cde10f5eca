// What every console page shares: the headers its HTML goes out with, and the CSRF field
// its forms carry.

/**
 * A strict CSP (the console's own style sheet and script only: no inline code, nothing from
 * elsewhere), no caching and no sniffing of the operator's pages.
 */
export const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "same-origin",
};

/** The hidden field a console form sends its session's CSRF token in. */
export const Csrf = (props: { token: string }) => <input type="hidden" name="csrf" value={props.token} />;
