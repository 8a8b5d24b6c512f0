"""moveOpportunity against a model of the board: after any sequence of moves, every
column holds the cards in the order the drags put them."""

from __future__ import annotations

import random

from tests.factories import make_customer, make_opportunity, stages_of
from tests.test_opportunity_changes import column, ids, move, seller_with_card

MOVES = 60


async def test_random_drags_leave_every_column_in_the_dragged_order(api):
    # given a campaign of three steps holding eight cards, and the same board as lists
    seller, campaign, first = await seller_with_card()
    stages = await stages_of(campaign)
    cards = [first] + [
        await make_opportunity(campaign, await make_customer(), stage=stages[0], owner=seller)
        for _ in range(7)
    ]
    model = {stage.pk: [] for stage in stages}
    for stage in stages:
        model[stage.pk] = [card for _rank, card in await _ranked(api, seller, stage, cards)]
    rng = random.Random(11)
    for _ in range(MOVES):
        # when a random card is dropped into a random step, first or after a random card
        card = rng.choice(cards)
        target = rng.choice(stages)
        for cards_of_step in model.values():
            if card in cards_of_step:
                cards_of_step.remove(card)
        others = model[target.pk]
        after = rng.choice([None, *others])
        result = await move(api, seller, card, target, after=after)
        result.ok()
        others.insert(0 if after is None else others.index(after) + 1, card)
    # then every column reads as the model says, ranks strictly increasing
    for stage in stages:
        listed = await column(api, seller, stage)
        assert [card_id for card_id, _rank in listed] == ids(model[stage.pk])
        ranks = [rank.encode() for _card_id, rank in listed]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


async def _ranked(api, seller, stage, cards):
    by_id = {card_id: card for card_id, card in zip(ids(cards), cards, strict=True)}
    return [(rank, by_id[card_id]) for card_id, rank in await column(api, seller, stage)]
