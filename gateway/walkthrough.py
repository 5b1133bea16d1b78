"""A purchase walked from start to post-test: printed as curl commands, or run for real.

The same steps serve both: ``demo`` prints them as complete, copy-paste runnable commands
(each whole document with its selection), and ``demo --walkthrough`` sends them to the
running demo and shows every request and answer.
"""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.enums import PartnerType
from gateway.demo_wave import DemoSale

START = (
    "mutation Start($input: StartPurchaseInput!) { startPurchase(input: $input) {"
    " paymentToken expiresAt purchase { invoiceCode status amount } } }"
)
AUTHORIZE = (
    "mutation Authorize($input: AuthorizePurchaseInput!) { authorizePurchase(input: $input) {"
    " invoiceCode status amount transactionCode redeemCode } }"
)
ATTEND = (
    "mutation Attend($input: RecordAttendanceInput!) { recordAttendance(input: $input) {"
    " attendance { sequence score attendedAt } purchase { invoiceCode redeemedAt } } }"
)
# Shell variables the printed commands fill in from earlier answers.
PAYMENT_TOKEN = "PAYMENT_TOKEN"  # noqa: S105  # a shell variable's name
OTP = "OTP"
REDEEM_CODE = "REDEEM_CODE"


def token_variable(partner_type: PartnerType) -> str:
    """The shell variable the demo's printed token command sets for a partner type."""
    return f"{partner_type.value}_TOKEN"


@dataclass(frozen=True)
class Step:
    title: str
    caller: PartnerType
    query: str
    variables: dict[str, Any]
    # Shell variable set from this step's answer, and the path to the value in ``data``.
    keeps: tuple[str, tuple[str, ...]] | None = None


def purchase_steps(sale: DemoSale) -> list[Step]:
    card = sale.card_number
    return [
        Step(
            "start the purchase (the OTP goes to the participant's phone: the outbox)",
            PartnerType.PLATFORM,
            START,
            {
                "input": {
                    "cardNumber": card,
                    "courseCode": sale.course_code,
                    "scheduleCode": sale.schedule_code,
                    "platformUserId": f"demo-{card}",
                    "invoiceCode": f"INV-DEMO-{card[-6:]}",
                    "amount": str(sale.price),
                }
            },
            keeps=(PAYMENT_TOKEN, ("startPurchase", "paymentToken")),
        ),
        Step(
            "authorize it with the OTP: the balance is debited, a redeem code issued",
            PartnerType.PLATFORM,
            AUTHORIZE,
            {"input": {"paymentToken": f"${PAYMENT_TOKEN}", "otp": f"${OTP}"}},
            keeps=(REDEEM_CODE, ("authorizePurchase", "redeemCode")),
        ),
        Step(
            "redeem the code (sequence 1) while the schedule runs",
            PartnerType.TRAINING_PROVIDER,
            ATTEND,
            {"input": {"redeemCode": f"${REDEEM_CODE}", "sequence": 1}},
        ),
        Step(
            "record the second session (sequences 2-10 go in order)",
            PartnerType.TRAINING_PROVIDER,
            ATTEND,
            {"input": {"redeemCode": f"${REDEEM_CODE}", "sequence": 2}},
        ),
        Step(
            "record the post-test (sequence 999) with its score",
            PartnerType.TRAINING_PROVIDER,
            ATTEND,
            {"input": {"redeemCode": f"${REDEEM_CODE}", "sequence": 999, "score": 85}},
        ),
    ]


def curl_command(base_url: str, step: Step) -> str:
    """One runnable command; ``$NAME`` values come from shell variables set earlier."""
    body = json.dumps({"query": step.query, "variables": step.variables})
    quoted = shlex.quote(body)
    # Leave the single quotes around each "$NAME" so the shell expands it.
    for name in (PAYMENT_TOKEN, OTP, REDEEM_CODE):
        quoted = quoted.replace(f'"${name}"', f'"\'"${name}"\'"')
    command = (
        f"curl -s -w '\\n' {base_url}/graphql"
        f' -H "Authorization: Bearer ${token_variable(step.caller)}"'
        f" -H 'Content-Type: application/json' -d {quoted}"
    )
    if step.keeps is None:
        return command
    name, path = step.keeps
    pick = "".join(f'["{key}"]' for key in ("data", *path))
    return (
        f"{name}=$({command} | tee /dev/stderr | python3 -c "
        f"'import json,sys; print(json.load(sys.stdin){pick})')"
    )


def print_purchase_commands(base_url: str, sale: DemoSale, outbox_command: str) -> None:
    # The quickstarts in docs/quickstarts read the same example from these variables.
    print(
        f"The example sale: export CARD_NUMBER={sale.card_number} "
        f"COURSE_CODE={sale.course_code} SCHEDULE_CODE={sale.schedule_code}\n"
    )
    print("Walk a purchase through, in a shell where the TOKEN commands above have run:")
    print("(or let `prakerja-gateway demo --walkthrough` run these against this demo)\n")
    steps = purchase_steps(sale)
    print(f"  # 1. {steps[0].title}")
    print(f"  {curl_command(base_url, steps[0])}")
    print("  # 2. read the OTP from the outbox (the demo's phone), from any directory")
    print(f"  {OTP}=$({outbox_command} --otp)")
    for number, step in enumerate(steps[1:], start=3):
        print(f"  # {number}. {step.title}")
        print(f"  {curl_command(base_url, step)}")
    print()


class WalkthroughFailed(Exception):
    """A step was answered with an error; the message says which and what came back."""


def run_walkthrough(
    base_url: str,
    sale: DemoSale,
    credentials: dict[PartnerType, tuple[str, str]],
    read_otp: Callable[[], str],
    out: Callable[[str], None] = print,
) -> dict[str, str]:
    """Sends each step to the running gateway, printing request and answer; returns the kept."""
    tokens = {
        partner_type: _token(base_url, client_id, secret, out)
        for partner_type, (client_id, secret) in credentials.items()
    }
    kept: dict[str, str] = {}
    for number, step in enumerate(purchase_steps(sale), start=1):
        if step.query is AUTHORIZE:
            kept[OTP] = read_otp()
            out(f"\n-- the participant's phone (outbox) shows the OTP {kept[OTP]}")
        variables = _substitute(step.variables, kept)
        out(f"\n== {number}. {step.title} (as {step.caller.value})")
        out(f"-> POST {base_url}/graphql")
        out(_indent(json.dumps({"query": step.query, "variables": variables}, indent=2)))
        status, answer = _post_json(
            f"{base_url}/graphql",
            {"query": step.query, "variables": variables},
            {"Authorization": f"Bearer {tokens[step.caller]}"},
        )
        out(f"<- {status}")
        out(_indent(json.dumps(answer, indent=2)))
        if status != 200 or answer.get("errors"):
            raise WalkthroughFailed(f"step {number} ({step.title}) was refused: see the answer")
        if step.keeps is not None:
            name, path = step.keeps
            value: Any = answer["data"]
            for key in path:
                value = value[key]
            kept[name] = str(value)
    return kept


def _token(base_url: str, client_id: str, secret: str, out: Callable[[str], None]) -> str:
    out(f"-> POST {base_url}/oauth/token  (client_credentials as {client_id})")
    status, answer = _post_form(
        f"{base_url}/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    out(f"<- {status} token_type={answer.get('token_type')} scope={answer.get('scope')}")
    if status != 200:
        raise WalkthroughFailed(f"the token request was refused: {answer}")
    return str(answer["access_token"])


def _substitute(value: Any, kept: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, kept) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("$") and value[1:] in kept:
        return kept[value[1:]]
    return value


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    return _send(url, data, {**headers, "Content-Type": "application/json"})


def _post_form(url: str, fields: dict[str, str]) -> tuple[int, Any]:
    from urllib.parse import urlencode

    data = urlencode(fields).encode()
    return _send(url, data, {"Content-Type": "application/x-www-form-urlencoded"})


def _send(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        try:
            return refused.code, json.loads(refused.read() or b"{}")
        except ValueError:
            return refused.code, {"error": refused.reason}
