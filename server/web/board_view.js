// The board on screen: a column per approach step with its figures, its cards in board
// order. Cards move by drag and drop, or from the keyboard: focus a card, choose a
// column and a place in "Move to", confirm. Only what changed is touched, so a card
// keeps its focus while others move around it.

import { h, money } from "./dom.js";

export class BoardView {
  constructor(board, { onMove, onOpen }) {
    this.board = board;
    this.onMove = onMove;
    this.onOpen = onOpen;
    this.cardElements = new Map();
    this.columns = new Map();
    this.dragged = null;
    this.element = h("section", { class: "board", "aria-label": `Board of ${board.name}` });
    for (const stage of board.stages) this.element.append(this.column(stage));
    this.render();
  }

  column(stage) {
    const count = h("span", { class: "count", "data-testid": "stage-count" });
    const total = h("span", { class: "total", "data-testid": "stage-total" });
    const weighted = h("span", { class: "weighted", "data-testid": "stage-weighted" });
    const list = h("ol", { class: "cards", "aria-label": `${stage.name} cards` });
    const element = h(
      "div",
      { class: "stage", "data-testid": "stage", "data-stage-id": stage.id },
      h(
        "header",
        {},
        h("h2", {}, stage.name),
        h(
          "p",
          { class: "figures" },
          count,
          h("span", { class: "label", "data-testid": "stage-count-label" }, " cards · "),
          total,
          h("span", { class: "label" }, " total · "),
          weighted,
          h("span", { class: "label" }, " weighted"),
        ),
      ),
      list,
    );
    element.addEventListener("dragover", (event) => this.dragOver(event, stage.id));
    element.addEventListener("dragleave", () => element.classList.remove("drop-target"));
    element.addEventListener("drop", (event) => this.drop(event, stage.id));
    const countLabel = element.querySelector("[data-testid=stage-count-label]");
    this.columns.set(stage.id, { element, list, count, countLabel, total, weighted });
    return element;
  }

  // Brings the screen to the board's state; `changed` names cards whose content changed.
  render(changed = null) {
    for (const stage of this.board.stages) {
      const column = this.columns.get(stage.id);
      if (!column) continue;
      column.count.textContent = String(stage.count);
      column.countLabel.textContent = stage.count === 1 ? " card · " : " cards · ";
      column.total.textContent = money(stage.total);
      column.weighted.textContent = money(stage.weighted);
      const cards = this.board.cardsOf(stage.id);
      cards.forEach((card, index) => {
        let element = this.cardElements.get(card.id);
        if (!element) {
          element = this.cardElement(card);
        } else if (!changed || changed.includes(card.id)) {
          this.fill(element, card);
        }
        if (column.list.children[index] !== element) {
          column.list.insertBefore(element, column.list.children[index] || null);
        }
      });
    }
    for (const [id, element] of this.cardElements) {
      if (!this.board.cards.has(id)) {
        element.remove();
        this.cardElements.delete(id);
      }
    }
  }

  cardElement(card) {
    const element = h("li", {
      class: "card",
      "data-testid": "card",
      "data-opportunity-id": card.id,
      tabindex: "0",
      draggable: "true",
    });
    element.addEventListener("dragstart", (event) => {
      this.dragged = card.id;
      event.dataTransfer.setData("text/plain", card.id);
      event.dataTransfer.effectAllowed = "move";
      element.classList.add("dragging");
    });
    element.addEventListener("dragend", () => {
      element.classList.remove("dragging");
      this.dragged = null;
    });
    element.addEventListener("focusin", () => this.showMoveControls(element));
    element.addEventListener("focusout", (event) => {
      if (!element.contains(event.relatedTarget)) this.hideMoveControls(element);
    });
    this.cardElements.set(card.id, element);
    this.fill(element, card);
    return element;
  }

  fill(element, card) {
    const controls = element.querySelector(".move");
    const closed = card.result !== "OPEN";
    element.classList.toggle("closed", closed);
    element.dataset.result = card.result;
    element.setAttribute(
      "aria-label",
      `${card.name}, ${card.owner ? card.owner.name : "no owner"}, ${money(card.amount)}`,
    );
    element.replaceChildren(
      h(
        "button",
        { type: "button", class: "open", "data-testid": "card-open" },
        h("span", { class: "name", "data-testid": "card-name" }, card.name),
      ),
      h(
        "p",
        { class: "meta" },
        h("span", { class: "owner" }, card.owner ? card.owner.name : "Unassigned"),
        h("span", { class: "amount" }, money(card.amount)),
        h("span", { class: "probability" }, `${card.probability}%`),
        closed ? h("span", { class: `badge ${card.result.toLowerCase()}` }, card.result) : null,
      ),
    );
    element.querySelector(".open").addEventListener("click", () => this.onOpen(card.id));
    if (controls) element.append(controls);
  }

  // ---------------------------------------------------------------- keyboard move

  showMoveControls(element) {
    if (element.querySelector(".move")) return;
    const cardId = element.dataset.opportunityId;
    const card = this.board.cards.get(cardId);
    const column = h(
      "select",
      { "data-testid": "move-to", "aria-label": "Move to column" },
      this.board.stages.map((stage) =>
        h("option", { value: stage.id, selected: stage.id === card.stage.id }, stage.name),
      ),
    );
    const place = h("select", { "data-testid": "move-position", "aria-label": "Place" });
    const fillPlaces = () => {
      const others = this.board.cardsOf(column.value).filter((other) => other.id !== cardId);
      place.replaceChildren(
        h("option", { value: "" }, "At the top"),
        ...others.map((other) => h("option", { value: other.id }, `After ${other.name}`)),
      );
    };
    column.addEventListener("change", fillPlaces);
    fillPlaces();
    const confirm = h(
      "button",
      { type: "button", "data-testid": "move-confirm" },
      "Move",
    );
    confirm.addEventListener("click", () => {
      this.onMove(cardId, column.value, place.value || null);
      element.focus();
    });
    element.append(
      h("div", { class: "move", role: "group", "aria-label": "Move card" }, column, place, confirm),
    );
  }

  hideMoveControls(element) {
    const controls = element.querySelector(".move");
    if (controls) controls.remove();
  }

  // ---------------------------------------------------------------- drag and drop

  dragOver(event, stageId) {
    if (!this.dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    this.columns.get(stageId).element.classList.add("drop-target");
  }

  drop(event, stageId) {
    event.preventDefault();
    const column = this.columns.get(stageId);
    column.element.classList.remove("drop-target");
    const cardId = this.dragged || event.dataTransfer.getData("text/plain");
    if (!cardId || !this.board.cards.has(cardId)) return;
    // After the last card whose middle is above the pointer (none: first).
    let afterId = null;
    for (const element of column.list.children) {
      if (element.dataset.opportunityId === cardId) continue;
      const box = element.getBoundingClientRect();
      if (box.top + box.height / 2 < event.clientY) afterId = element.dataset.opportunityId;
    }
    this.onMove(cardId, stageId, afterId);
  }
}
