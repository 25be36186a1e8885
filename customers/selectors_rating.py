"""Reads for rating governance: a customer's rating panel (the expert scorecard's result
next to the statistical model's, the pending request, the history)."""

from customers.models import CustomerRating


def customer_rating_panel(*, customer) -> dict:
    from customers.services.ratings import customer_rating_proposal
    from scoring.selectors_decision import customer_expert_values, expert_result_for

    expert = expert_result_for(customer_expert_values(customer))
    proposal = customer_rating_proposal(customer=customer)
    history = list(CustomerRating.objects.filter(customer=customer).select_related("requested_by", "decided_by")[:10])
    return {
        "expert": expert,
        "statistical": proposal if proposal and proposal["source"] == CustomerRating.Source.STATISTICAL else None,
        "pending": next((h for h in history if h.status == CustomerRating.Status.PENDING), None),
        "history": history,
    }
