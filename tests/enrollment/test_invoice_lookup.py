"""Invoice codes are unique per platform: programme management must say which platform's."""

from __future__ import annotations

from core.db.database import Database
from tests.support.enrollment import START, codes, open_sale, start_input
from tests.support.gateway import Tokens

LOOKUP = """
query($invoice: String!, $platform: String) {
  purchase(invoiceCode: $invoice, platformCode: $platform) { invoiceCode platformUserId }
}
"""


async def test_the_same_invoice_code_at_two_platforms_is_never_answered_silently(
    tokens: Tokens, database: Database
) -> None:
    invoice = "INV-SHARED-1"
    for platform in ("DP-001", "DP-002"):
        sale = await open_sale(database, platform=platform)
        started = await tokens.graphql(
            platform,
            START,
            {"input": start_input(sale, invoiceCode=invoice, platformUserId=f"user-of-{platform}")},
        )
        assert "errors" not in started, started
    ambiguous = await tokens.graphql("PMO", LOOKUP, {"invoice": invoice})
    assert codes(ambiguous) == ["BAD_USER_INPUT"]
    assert "platformCode" in ambiguous["errors"][0]["message"]  # type: ignore[index]
    for platform in ("DP-001", "DP-002"):
        named = await tokens.graphql("PMO", LOOKUP, {"invoice": invoice, "platform": platform})
        assert named["data"]["purchase"]["platformUserId"] == f"user-of-{platform}", named  # type: ignore[index]
        # Each platform still finds its own without naming itself.
        own = await tokens.graphql(platform, LOOKUP, {"invoice": invoice})
        assert own["data"]["purchase"]["platformUserId"] == f"user-of-{platform}", own  # type: ignore[index]
