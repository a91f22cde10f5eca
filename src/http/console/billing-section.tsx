// The tenant page's billing details: the billing account id (set through the API) and the
// payment-method reference sent with each invoice, with a form to set it. A reference is a
// billing provider's id; a card number is refused and, unlike other mistakes, not shown back
// in the form, since the console never displays card data.

import { looksLikeCardNumber, paymentReferenceProblem } from "../../core/payment-reference";
import { type ConsoleForm, textField } from "./form";
import { Csrf } from "./page";

/** A refused payment-method form: the reason, and what to show in the field again. */
export interface RefusedPaymentMethod {
  error: string;
  typed: string;
}

/** The reference to store (null: none), or why the typed one can't be. */
export function parsePaymentMethod(form: ConsoleForm): { ref: string | null } | RefusedPaymentMethod {
  // Spaces around a pasted id are the paste's, not the id's.
  const typed = (textField(form, "paymentMethodRef") ?? "").trim();
  if (typed === "") return { ref: null };
  const problem = paymentReferenceProblem(typed);
  if (problem === null) return { ref: typed };
  return { error: `payment method: ${problem}`, typed: looksLikeCardNumber(typed) ? "" : typed };
}

export function BillingSection(props: {
  tenantId: string;
  billingAccountId: string | null;
  paymentMethodRef: string | null;
  csrf: string;
  refused?: RefusedPaymentMethod;
}) {
  const { refused } = props;
  return (
    <div class="billing">
      <p>
        {"Billing account: "}
        {props.billingAccountId ? <code class="billing-account">{props.billingAccountId}</code> : "none"}
        <br />
        {"Payment method: "}
        {props.paymentMethodRef ? <code class="payment-method">{props.paymentMethodRef}</code> : "none"}
      </p>
      <p class="hint">Both go with each invoice and its invoice.created webhook as they are when it is issued.</p>
      <form method="post" action={`/admin/ui/tenants/${props.tenantId}/payment-method`} class="stack payment-method">
        <Csrf token={props.csrf} />
        {refused ? (
          <p class="error" role="alert">
            {refused.error}
          </p>
        ) : null}
        <label>
          Payment method reference{" "}
          <input
            name="paymentMethodRef"
            value={refused ? refused.typed : (props.paymentMethodRef ?? "")}
            placeholder="pm_1NzQ8x2eZvKYlo2C"
            autocomplete="off"
          />
        </label>
        <p class="hint">
          Your billing provider's customer or payment-method id (cus_…, pm_…), never card data. Empty: none.
        </p>
        <button type="submit">Save payment method</button>
      </form>
    </div>
  );
}
