"""What a Link push does to each of its items, worked out before the push is written.

A push of 50,000 items is written with a few `executemany` calls, not a query and a statement
per item, so the answer for each item (created, updated, deleted, entity_not_found), which
depends on the items before it, is worked out here from the rules as they were before the push.
"""

from . import messages


def outcomes(items, touched):
    """One outcome per `(link_id, forward_number, entities)` item, the items applied in order.

    `touched` holds `(forward_number, link_id)` of each rule that exists before the push and has
    the forward_number or the link_id of one of the items: the only rules the push can meet.
    """
    link_of = dict(touched)  # forward_number -> link_id (or None) of every rule that exists
    number_of = {link_id: number for number, link_id in touched if link_id is not None}
    results = []
    for link_id, number, entities in items:
        if entities:
            results.append(messages.UPDATED if number in link_of else messages.CREATED)
            # As INSERT OR REPLACE does: the rule with this number and the rule with this link_id go.
            for gone in (number, number_of.get(link_id)):
                if gone in link_of:
                    number_of.pop(link_of.pop(gone), None)
            link_of[number] = link_id
            number_of[link_id] = number
        elif number in link_of:
            results.append(messages.DELETED)
            number_of.pop(link_of.pop(number), None)
        else:
            results.append(messages.ENTITY_NOT_FOUND)
    return results
