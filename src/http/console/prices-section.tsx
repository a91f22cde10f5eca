// A price book as the console shows it: which days are fixed, the prices in a table with a
// Remove button on each one that is not, and the form to add a price. The global Prices page
// and a tenant's page both use it; `action` says whose book the forms change.

import type { StoredBook } from "../../billing/prices";
import { PRICE_DIMENSIONS, type PriceEntry, type PriceTier } from "../../core/price-book";
import { Decimal, When } from "./format";
import { Csrf } from "./page";
import { newPriceValues, type PlacedProblem, type RefusedPrices } from "./price-edit";
import { Table } from "./table";

/** "up to 10000000 at 0.00001; the rest at 0.000008". */
const describeTiers = (tiers: readonly PriceTier[] | undefined) =>
  (tiers ?? []).map((t) => `${t.upTo === null ? "the rest" : `up to ${t.upTo}`} at ${t.unitPrice}`).join("; ");

function Problems(props: { problems: readonly PlacedProblem[] }) {
  if (props.problems.length === 0) return null;
  return (
    <ul class="error" id="price-problems" role="alert">
      {props.problems.map((p) => (
        <li>
          <strong>{p.place}</strong>
          {`: ${p.message}`}
        </li>
      ))}
    </ul>
  );
}

function RemoveForm(props: { action: string; price: PriceEntry; csrf: string }) {
  const p = props.price;
  return (
    <form method="post" action={`${props.action}/remove`} class="inline remove-price">
      <Csrf token={props.csrf} />
      <input type="hidden" name="model" value={p.model} />
      <input type="hidden" name="dimension" value={p.dimension} />
      <input type="hidden" name="effectiveFrom" value={p.effectiveFrom} />
      <button type="submit">Remove</button>
    </form>
  );
}

export function PricesSection(props: {
  /** Where the add form posts; a row's Remove posts to `${action}/remove`. */
  action: string;
  book: StoredBook;
  /** Why this book can't be changed here (see price-edit's currency rule), or null. */
  warning: PlacedProblem | null;
  /** What the page says when the book is empty. */
  empty: string;
  today: string;
  csrf: string;
  refused?: RefusedPrices;
}) {
  const { action, book, csrf, refused } = props;
  const fixedBefore = book.fixedBefore;
  // A price for invoiced days prices their late usage: replaceBook refuses to remove it.
  const fixed = (p: PriceEntry) => fixedBefore !== null && p.effectiveFrom < fixedBefore;
  const v = refused?.values ?? newPriceValues(props.today, fixedBefore);
  return (
    <div class="prices">
      <p class="hint fixed-before">
        {fixedBefore === null
          ? "Nothing is invoiced yet: every price can still be removed."
          : [
              "Prices before ",
              <When iso={fixedBefore} />,
              " are fixed: those days are invoiced. To change a price, add one from ",
              <When iso={fixedBefore} />,
              " or later.",
            ]}
      </p>
      {props.warning && !refused ? <p class="error">{props.warning.message}</p> : null}
      {book.prices.length === 0 ? (
        <p>{props.empty}</p>
      ) : (
        <Table
          id="prices"
          rows={book.prices}
          rowAttributes={(p) => ({
            "data-price": `${p.model} ${p.dimension} ${p.effectiveFrom}`,
            class: fixed(p) ? "fixed" : "open",
          })}
          columns={[
            { header: "Model", cell: (p) => <code>{p.model}</code> },
            { header: "Dimension", cell: (p) => p.dimension },
            { header: `Unit price (${book.currency})`, class: "num", cell: (p) => <Decimal value={p.unitPrice} /> },
            { header: "Effective from", cell: (p) => <When iso={p.effectiveFrom} /> },
            { header: "Tiers", cell: (p) => describeTiers(p.tiers) },
            {
              cell: (p) =>
                fixed(p) ? <span class="hint">fixed</span> : <RemoveForm action={action} price={p} csrf={csrf} />,
            },
          ]}
        />
      )}
      <form method="post" action={action} class="stack new-price">
        <Csrf token={csrf} />
        <Problems problems={refused?.problems ?? []} />
        <fieldset>
          <legend>{`Add a price, in ${book.currency} per unit (one token, one request)`}</legend>
          <label>
            Model pattern <input name="model" value={v.model} placeholder="gpt-4o*" required />
          </label>
          <p class="hint">An exact model name, a prefix ending in * (gpt-4o*), or * for every model.</p>
          <label>
            Dimension{" "}
            <select name="dimension">
              {PRICE_DIMENSIONS.map((d) => (
                <option value={d} selected={v.dimension === d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          <label>
            Unit price <input name="unitPrice" value={v.unitPrice} inputmode="decimal" placeholder="0.00001" />
          </label>
          <label>
            Effective from <input name="effectiveFrom" type="date" value={v.effectiveFrom} required />
          </label>
          <label>
            Tiers (optional) <input name="tiers" value={v.tiers} placeholder="10000000:0.00001, rest:0.000008" />
          </label>
          <p class="hint">
            Graduated over the billing period: upTo:price for each tier, separated by commas, and rest:price last. With
            tiers, an empty unit price is the first tier's.
          </p>
        </fieldset>
        <button type="submit">Add price</button>
      </form>
    </div>
  );
}
