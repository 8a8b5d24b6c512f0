// A campaign's board as the page holds it: columns with their figures, cards in rank
// order, and the cursor of the last event applied. Live events carry each card as it
// is now, so applying them in order (replays included) lands on the server's state.

export const CARD_FIELDS = `
  id name rank version probability amount result
  owner { id name } stage { id }
`;

const CARD_EVENTS = new Set([
  "OpportunityCreated",
  "OpportunityUpdated",
  "OpportunityMoved",
  "OpportunityAssigned",
  "OpportunityClosed",
  "OpportunityReopened",
  "OpportunityRotting",
]);

export class Board {
  constructor(campaign) {
    this.id = campaign.id;
    this.name = campaign.name;
    this.cursor = campaign.lastEventCursor;
    this.stages = campaign.stages.map((stage) => ({
      id: stage.id,
      name: stage.name,
      position: stage.position,
      count: stage.opportunityCount,
      total: stage.totalAmount,
      weighted: stage.weightedAmount,
    }));
    this.cards = new Map();
    for (const stage of campaign.stages) {
      for (const edge of stage.opportunities.edges) this.cards.set(edge.node.id, edge.node);
    }
  }

  stage(id) {
    return this.stages.find((stage) => stage.id === id);
  }

  // The column's cards in board order: rank as plain byte strings, then id.
  cardsOf(stageId) {
    return [...this.cards.values()]
      .filter((card) => card.stage.id === stageId)
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.id < b.id ? -1 : 1));
  }

  upsert(card) {
    this.cards.set(card.id, card);
  }

  // Applies one live event; returns what it touched ({cards, stages, reload}).
  apply(event) {
    this.cursor = event.cursor;
    const payload = event.payload;
    const touched = { cards: [], reload: false };
    if (CARD_EVENTS.has(payload.__typename)) {
      if (payload.opportunity) this.upsert(payload.opportunity);
      else this.cards.delete(payload.opportunityId); // deleted since
      touched.cards.push(payload.opportunityId);
    } else if (payload.__typename === "OpportunityDeleted") {
      this.cards.delete(payload.opportunityId);
      touched.cards.push(payload.opportunityId);
    } else if (payload.__typename === "CampaignUpdated") {
      touched.reload = payload.changedFields.some((field) => field !== "name");
      if (payload.campaign) this.name = payload.campaign.name;
    }
    for (const totals of event.stageTotals || []) {
      const stage = this.stage(totals.stageId);
      if (!stage) continue;
      stage.count = totals.opportunityCount;
      stage.total = totals.totalAmount;
      stage.weighted = totals.weightedAmount;
    }
    return touched;
  }

  // Puts the card in `stageId` right after `afterId` (first when null) at once, before
  // the server answers; returns what undoes it.
  place(cardId, stageId, afterId) {
    const card = this.cards.get(cardId);
    const before = { ...card, stage: { ...card.stage } };
    const previous = afterId ? this.cards.get(afterId) : null;
    // Sorts right after the previous card's rank (and before the next one's): a rank
    // with a NUL appended; "" sorts first.
    const rank = previous ? `${previous.rank}\u0000` : "";
    this.cards.set(cardId, { ...card, rank, stage: { id: stageId } });
    return before;
  }

  restore(card) {
    this.cards.set(card.id, card);
  }
}
