// One card in a dialog: its fields, stage history, communications and tasks; its name,
// amount and probability edited; marked won (with the order's amount) or lost (with a
// reason). Each change sends the version it was read at: a CONFLICT says to reload.

import { request } from "./api.js";
import { CARD_FIELDS } from "./board.js";
import { h, moment, money, say } from "./dom.js";

const DETAIL = `
query Card($id: ID!) {
  opportunity(id: $id) {
    ${CARD_FIELDS}
    source failureReason createdAt closedAt
    customer { id name }
    stageHistory { fromStage { name } toStage { name } actor { name } at }
    communications(first: 20) { edges { node { id kind content occurredAt author { name } } } }
    tasks { id title dueAt done assignee { name } }
  }
}`;
const UPDATE = `mutation Update($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { ${CARD_FIELDS} } }`;
const WON = `mutation Won($input: MarkOpportunityWonInput!) { markOpportunityWon(input: $input) { ${CARD_FIELDS} } }`;
const LOST = `mutation Lost($input: MarkOpportunityLostInput!) { markOpportunityLost(input: $input) { ${CARD_FIELDS} } }`;

export async function openCard(cardId, { onChanged, ownId }) {
  const dialog = h("dialog", { class: "card-detail", "data-testid": "card-detail" });
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.append(h("p", {}, "Loading…"));
  dialog.showModal();
  let card;
  try {
    card = (await request(DETAIL, { id: cardId })).opportunity;
  } catch (error) {
    dialog.replaceChildren(h("p", { role: "alert" }, error.message), closeButton(dialog));
    return;
  }
  if (!card) {
    dialog.replaceChildren(h("p", { role: "alert" }, "Not found."), closeButton(dialog));
    return;
  }
  const change = async (mutation, input, field) => {
    try {
      const data = await request(mutation, {
        input: { id: card.id, expectedVersion: card.version, clientMutationId: ownId(), ...input },
      });
      onChanged(data[field]);
      dialog.close();
    } catch (error) {
      say(error.code === "CONFLICT" ? `${error.message}` : error.message);
      dialog.close();
    }
  };
  dialog.replaceChildren(h("div", { class: "detail" },
    h("h2", {}, card.name),
    h(
      "dl",
      { class: "fields" },
      field("Customer", card.customer.name),
      field("Owner", card.owner ? card.owner.name : "Unassigned"),
      field("Amount", money(card.amount)),
      field("Probability", `${card.probability}%`),
      field("Result", card.result + (card.failureReason ? ` (${card.failureReason})` : "")),
      field("Source", card.source),
      field("Created", moment(card.createdAt)),
      card.closedAt ? field("Closed", moment(card.closedAt)) : null,
    ),
    editForm(card, (input) => change(UPDATE, input, "updateOpportunity")),
    card.result === "OPEN"
      ? h(
          "div",
          { class: "outcomes" },
          outcomeForm("Mark won", "Order amount", "orderAmount", "number", (input) =>
            change(WON, input, "markOpportunityWon"),
          ),
          outcomeForm("Mark lost", "Reason", "reason", "text", (input) =>
            change(LOST, input, "markOpportunityLost"),
          ),
        )
      : null,
    h("h3", {}, "Stage history"),
    h(
      "ol",
      { class: "history" },
      card.stageHistory.map((step) =>
        h(
          "li",
          {},
          `${step.fromStage ? step.fromStage.name : "—"} → ${step.toStage.name}`,
          ` · ${step.actor ? step.actor.name : "automatic"} · ${moment(step.at)}`,
        ),
      ),
    ),
    h("h3", {}, "Communications"),
    listOrNone(
      card.communications.edges.map(({ node }) =>
        h("li", {}, `${node.kind} · ${moment(node.occurredAt)} · ${node.content}`),
      ),
    ),
    h("h3", {}, "Tasks"),
    listOrNone(
      card.tasks.map((task) =>
        h("li", {}, `${task.done ? "✓" : "○"} ${task.title}`, task.dueAt ? ` · due ${moment(task.dueAt)}` : ""),
      ),
    ),
    closeButton(dialog),
  ));
}

function field(name, value) {
  return [h("dt", {}, name), h("dd", {}, value)];
}

function listOrNone(items) {
  return items.length ? h("ul", {}, items) : h("p", { class: "none" }, "None.");
}

function closeButton(dialog) {
  const button = h("button", { type: "button", class: "close" }, "Close");
  button.addEventListener("click", () => dialog.close());
  return button;
}

function editForm(card, submit) {
  const name = h("input", { name: "name", value: card.name, required: true, id: "edit-name" });
  const amount = h("input", {
    name: "amount", type: "number", step: "0.01", min: "0", id: "edit-amount",
    value: card.amount ?? "",
  });
  const probability = h("input", {
    name: "probability", type: "number", min: "0", max: "100", id: "edit-probability",
    value: card.probability,
  });
  const form = h(
    "form",
    { class: "edit", "data-testid": "card-edit" },
    h("label", { for: "edit-name" }, "Name"), name,
    h("label", { for: "edit-amount" }, "Amount"), amount,
    h("label", { for: "edit-probability" }, "Probability (%)"), probability,
    h("button", { type: "submit" }, "Save"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit({
      name: name.value,
      amount: amount.value === "" ? null : amount.value,
      probability: Number(probability.value),
    });
  });
  return form;
}

function outcomeForm(title, label, key, type, submit) {
  const id = `outcome-${key}`;
  const input = h("input", { id, name: key, type, required: true, step: type === "number" ? "0.01" : null });
  const form = h(
    "form",
    { class: "outcome" },
    h("label", { for: id }, label),
    input,
    h("button", { type: "submit" }, title),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit({ [key]: input.value });
  });
  return form;
}
