"""The demo drafts' text: the dataset's reply, addressed to the customer's own request.

Used by build_demo_queue.py. The Bitext dataset has one canned reply per intent (27 in all), so
its replies alone would repeat. ``compose`` keeps that reply as the body and composes around it,
from the row's own text, what a drafting model that read the message would write: a greeting
(with the person's name where the message names one), a sentence restating the request (the
customer's own words turned to the second person, or a sentence written for the intent, with
the order or invoice number, account type, amount or place the customer named), a word of
sympathy where the message is angry, and a closing line. Where the reply speaks of the
customer's order, invoice, account or refund, the customer's number, account type or amount is
written into it.

``mistake`` then alters a composed draft the way a drafting model goes wrong, for reviewers to
catch: a wrong number or account type, a promise the policy does not make, the reply of a related
but different intent, or a step left out. Every alteration is returned with what is wrong and the
text change that corrects it. None of this is measured: it is written here for demonstration.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, str]

# -- composing ------------------------------------------------------------------------------------
GREETINGS = ("Hello,", "Hi,", "Hi there,", "Good day,", "Hello there,")
NAMED_GREETINGS = ("Hello {name},", "Dear {name},", "Hi {name},")
CLOSINGS = (
    "Is there anything else I can help you with?",
    "Let me know if you have any other questions.",
    "I hope this helps!",
    "Feel free to reply here if anything is unclear.",
    "Thank you for your patience.",
    "Have a great day!",
)
SORRY_ANGRY = (
    "I'm sorry for the frustration.",
    "I'm sorry this has been so frustrating.",
    "I understand this is annoying, and I'm sorry.",
)
SORRY_TROUBLE = ("Sorry you ran into this.", "Sorry about the trouble.")
TROUBLE_INTENTS = ("payment_issue", "registration_problems", "recover_password")

# Sentences written for each intent, for messages whose wording cannot be restated well (typos,
# keyword queries, slang). {order} {invoice} {account} {amount} {place}: the customer's own.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "cancel_order": (
        "You would like to cancel order {order}.",
        "You asked how to cancel order {order}.",
        "You would like to cancel your order.",
        "I understand you want to cancel a recent order.",
        "You asked how to cancel an order.",
        "You would like to cancel a purchase.",
    ),
    "change_order": (
        "You would like to make a change to order {order}.",
        "You asked how to change the items in order {order}.",
        "You would like to change your order.",
        "I understand you want to modify an order you placed.",
        "You asked how to update an order.",
        "You would like to add or remove items in an order.",
    ),
    "place_order": (
        "You would like to place an order.",
        "You asked how to buy from us.",
        "I understand you want to make a purchase.",
        "You asked how ordering works.",
        "You would like to buy something from us.",
        "You asked how to place an order online.",
    ),
    "track_order": (
        "You would like to know where order {order} is.",
        "You asked for the status of order {order}.",
        "You would like to track your order.",
        "I understand you're waiting for an order and want to know where it is.",
        "You asked how to follow your order's delivery.",
        "You would like an update on your order.",
    ),
    "change_shipping_address": (
        "You would like to change your shipping address.",
        "You asked how to correct the delivery address.",
        "I understand the shipping address needs updating.",
        "You would like your order sent to a different address.",
        "You would like to edit your delivery address.",
        "You asked whether you can still change where your order goes.",
        "I understand you entered the wrong address.",
    ),
    "set_up_shipping_address": (
        "You would like to add a shipping address.",
        "You asked how to set up a delivery address.",
        "I understand you want to save a new shipping address.",
        "You would like to register another address for deliveries.",
        "You asked how to enter a new delivery address.",
        "I understand you're having trouble saving an address.",
        "You would like to use a second address for deliveries.",
    ),
    "check_cancellation_fee": (
        "You asked whether cancelling costs anything.",
        "You would like to know about cancellation fees.",
        "I understand you want to check the early termination fee.",
        "You asked what we charge when an order is cancelled.",
        "You would like to know what ending early would cost.",
    ),
    "check_invoice": (
        "You would like to look at invoice {invoice}.",
        "You asked where to find invoice {invoice}.",
        "You would like to see your invoices.",
        "You asked where your invoices are kept.",
        "I understand you need to check a bill.",
        "You would like to find an invoice.",
        "You asked how to see your bills.",
        "I understand you're looking for a bill.",
        "You would like to see the invoices in your name.",
    ),
    "get_invoice": (
        "You would like a copy of invoice {invoice}.",
        "You asked how to download invoice {invoice}.",
        "You would like to download your invoice.",
        "You asked for a copy of a bill.",
        "I understand you need your invoice.",
        "You would like to download a bill.",
        "You asked where to get a copy of your invoice.",
        "I understand you need a copy of an invoice for your records.",
        "You would like a copy of the invoices in your name.",
    ),
    "check_payment_methods": (
        "You asked which payment methods we accept.",
        "You would like to know how you can pay.",
        "I understand you want to see the payment options.",
        "You asked whether we take your preferred way of paying.",
        "You would like to see how you can pay for an order.",
        "You asked about the ways to pay.",
    ),
    "payment_issue": (
        "You are having trouble with a payment.",
        "You asked for help with a payment that did not go through.",
        "I understand a payment has caused problems.",
        "You would like to report a problem with paying.",
        "I understand your payment was not accepted.",
        "You would like help with an error at checkout.",
        "You asked how to report a payment problem.",
    ),
    "check_refund_policy": (
        "You asked about our refund policy.",
        "You would like to know when you can get your money back.",
        "I understand you want to check whether a refund is possible.",
        "You asked in which cases we give refunds.",
        "You would like to read our refund conditions.",
    ),
    "get_refund": (
        "You would like a refund of {amount}.",
        "You asked how to get your {amount} back.",
        "You would like a refund.",
        "You asked how to request your money back.",
        "I understand you want to be reimbursed.",
        "You asked how to claim a refund.",
        "You would like your money back for a purchase.",
    ),
    "track_refund": (
        "You would like to know where your refund is.",
        "You asked whether your refund has been processed.",
        "I understand you're still waiting for your money back.",
        "You asked about the status of a refund.",
        "You would like an update on your refund.",
    ),
    "complaint": (
        "You would like to file a complaint.",
        "You told us you are unhappy with our service.",
        "I understand you want to make a formal complaint.",
        "You asked how to lodge a claim against us.",
        "I understand you're not happy with how things went.",
        "You would like to report a bad experience with us.",
    ),
    "review": (
        "You would like to leave a review.",
        "You asked how to share your opinion of a product.",
        "I understand you want to give us feedback.",
        "You would like to rate something you bought from us.",
        "You asked how to leave feedback about our service.",
        "I understand you'd like to tell us what you think.",
        "You would like to write a review of a product or service.",
    ),
    "contact_customer_service": (
        "You would like to contact customer service.",
        "You asked how to reach our support team.",
        "You asked when customer service is available.",
        "I understand you want to get in touch with us.",
        "You asked how to call us.",
        "You would like to talk to our support team.",
    ),
    "contact_human_agent": (
        "You would like to speak to a person.",
        "You asked to talk to a human agent.",
        "I understand you'd rather talk to someone from our team.",
        "You asked how to reach a live agent.",
        "You would like to chat with a member of our team.",
        "I understand you'd like to speak to an agent.",
    ),
    "create_account": (
        "You would like to open a {account} account.",
        "You asked how to sign up for a {account} account.",
        "You would like to create an account.",
        "You asked how to register with us.",
        "I understand you want to sign up.",
        "You would like to become a member.",
    ),
    "delete_account": (
        "You would like to close your {account} account.",
        "You asked how to delete your {account} account.",
        "You would like to delete your account.",
        "You asked how to close your account.",
        "I understand you want to cancel your account.",
        "You asked how to remove your account.",
    ),
    "edit_account": (
        "You would like to update your {account} account.",
        "You asked how to edit the details of your {account} account.",
        "You would like to change your account details.",
        "You asked how to update your profile.",
        "I understand some account details need changing.",
        "You would like to update your personal details.",
    ),
    "recover_password": (
        "You can't get into your account.",
        "You asked how to reset your password.",
        "You would like to recover your password.",
        "I understand you've lost your password.",
        "You asked how to get back into your account.",
        "I understand you need a new password.",
        "You would like to reset the password of your account.",
    ),
    "registration_problems": (
        "You ran into a problem signing up.",
        "You would like to report a registration issue.",
        "I understand registration isn't working for you.",
        "You asked for help with a sign-up error.",
        "I understand you couldn't create your account.",
        "You asked how to report a problem with registration.",
        "You would like to tell us about a sign-up problem.",
    ),
    "switch_account": (
        "You would like to switch to your {account} account.",
        "You asked how to change to the {account} account.",
        "You would like to switch accounts.",
        "You asked how to move to another account.",
        "I understand you want to use a different account.",
        "You would like to change which account you use.",
    ),
    "delivery_options": (
        "You asked whether we deliver to {place}.",
        "You would like to know our shipping options for {place}.",
        "You asked which delivery options we offer.",
        "You would like to know how we can ship your order.",
        "I understand you want to compare shipping methods.",
        "You asked how fast we can ship.",
    ),
    "delivery_period": (
        "You would like to know when your package will arrive.",
        "You asked how long delivery takes.",
        "I understand you're waiting for a delivery.",
        "You asked about delivery times.",
        "You would like to know how soon your order can arrive.",
        "You asked how many days shipping takes.",
    ),
    "newsletter_subscription": (
        "You would like to subscribe to our newsletter.",
        "You asked about our newsletter.",
        "I understand you want to receive our news by email.",
        "You asked how to sign up for our emails.",
        "You would like to get our newsletter.",
    ),
}
# Half of the dataset's newsletter messages ask to unsubscribe; its one reply explains how to
# subscribe. Those drafts keep that reply (it is the model's own mistake) and are restated as what
# the customer asked for.
UNSUBSCRIBE = re.compile(r"unsub|c\w?anc\w?e?l|stop|remov|opt.?out|leave|quit|delet", re.IGNORECASE)
UNSUBSCRIBE_TEMPLATES = (
    "You would like to unsubscribe from our newsletter.",
    "You asked how to cancel your newsletter subscription.",
    "I understand you no longer want to receive our newsletter.",
    "You would like to stop getting our newsletter.",
    "You asked to be taken off our mailing list.",
)

# Where the dataset's reply speaks of the customer's order, invoice, account or refund, the
# customer's own number, account type or amount goes in: (entity kind, reply text, replacement).
INSERTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "cancel_order": (
        ("order", "want to cancel your order", "want to cancel order {order}"),
        ("order", "going to your order details", "going to the details of order {order}"),
    ),
    "change_order": (("order", "select the order you wish to modify", "select order {order}"),),
    "track_order": (
        ("order", "You can track your order's status", "You can track the status of order {order}"),
    ),
    "check_invoice": (("invoice", "Your invoice can be found", "Invoice {invoice} can be found"),),
    "get_invoice": (
        ("invoice", "You can download your invoice", "You can download invoice {invoice}"),
    ),
    "create_account": (("account", "To create an account", "To create {a_account} account"),),
    "delete_account": (
        (
            "account",
            "If you wish to delete your account",
            "If you wish to delete your {account} account",
        ),
    ),
    "edit_account": (
        (
            "account",
            "You can edit your account details",
            "You can edit the details of your {account} account",
        ),
    ),
    "switch_account": (
        (
            "account",
            "Switching between accounts requires",
            "Switching to your {account} account requires",
        ),
    ),
    "get_refund": (
        ("amount", "If you need to request a refund", "To request your refund of {amount}"),
    ),
}

# The entity types of the dataset, by the slot they fill here.
SLOT_OF_ENTITY = {
    "order_id": "order",
    "invoice_id": "invoice",
    "account_type": "account",
    "refund_amount": "amount",
    "delivery_city": "place",
    "delivery_country": "place",
    "person_name": "name",
}

# -- restating the customer's words -----------------------------------------------------------
# (pattern on the message, ways to say it back). {vp} is the rest of the message in the second
# person; "base" frames take a verb, "gerund" frames a verb in -ing, "noun" frames a noun phrase.
_FRAMES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind, says)
    for pattern, kind, says in (
        (
            r"^(?:i )?(?:want|need|would like|'d like|am looking for|'m looking for) "
            r"(?:some )?(?:help|assistance) (?:to |with |in )?(?P<vp>.+)$",
            "help",
            (
                "You would like some help {vp_help}.",
                "I understand you need help {vp_help}.",
                "You asked for help {vp_help}.",
            ),
        ),
        (
            r"^(?:(?:can|could|would) you )?help me (?:to |with )?(?P<vp>.+)$",
            "help",
            ("You asked for help {vp_help}.", "I understand you need help {vp_help}."),
        ),
        (
            r"^help (?:to |with )(?P<vp>.+)$",
            "help",
            ("You asked for help {vp_help}.", "You would like some help {vp_help}."),
        ),
        (
            r"^(?:i )?(?:want to|need to|would like to|'d like to|have to|have got to|got to|"
            r"must|am trying to|'m trying to|try to) (?P<vp>.+)$",
            "base",
            (
                "You would like to {vp}.",
                "I understand you want to {vp}.",
                "You need to {vp}, so here is how.",
            ),
        ),
        (
            r"^(?:i )?(?:want|need|would like|'d like) (?P<vp>(?:a|an|my|the|some) .+)$",
            "noun",
            ("You would like {vp}.", "I understand you need {vp}."),
        ),
        (
            r"^i (?:don't|do not|dont) know (?:how to|how i can|how i could|how can i|"
            r"how could i|what to do to|what i have to do to|what i need to do to|what i "
            r"should do to) (?P<vp>.+)$",
            "base",
            (
                "You are not sure how to {vp}.",
                "You asked how to {vp}.",
                "I understand you'd like to know how to {vp}.",
            ),
        ),
        (
            r"^how (?:do|can|could|should|would|might) i (?P<vp>.+)$",
            "base",
            ("You asked how to {vp}.", "You would like to know how to {vp}."),
        ),
        (
            r"^where (?:do|can|could|should) i (?P<vp>.+)$",
            "base",
            ("You asked where to {vp}.", "You would like to know where to {vp}."),
        ),
        (
            r"^(?:what do i (?:have|need) to do|what should i do) to (?P<vp>.+)$",
            "base",
            ("You asked what to do to {vp}.", "You would like to know how to {vp}."),
        ),
        (
            r"^(?:i am|i'm) waiting for (?P<vp>.+)$",
            "noun",
            ("You are still waiting for {vp}.", "I understand you're waiting for {vp}."),
        ),
        (
            r"^is it possible to (?P<vp>.+)$",
            "base",
            (
                "You asked whether it is possible to {vp}.",
                "You would like to know if you can {vp}.",
            ),
        ),
    )
)
# Cut before these: the part after them asks for help again, or is a second sentence.
_TAILS = re.compile(
    r"(?:,|\?|!| (?:can|could) (?:you|u) help| i need (?:help|assistance)| help me$| "
    r"how (?:do|can|could) i do (?:it|that)| how to do (?:it|that)).*$",
    re.IGNORECASE,
)
_SECOND_PERSON = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "am": "are",
    "your": "our",
    "yours": "ours",
    "ur": "our",
}
_AFTER_PREPOSITION = {"with", "to", "for", "from", "at", "contact", "call", "reach", "about"}
# Messages with these read badly said back; a sentence written for the intent goes instead.
_UNQUOTABLE = {
    "u", "ur", "ya", "pls", "plz", "wanna", "gonna", "gotta", "im", "dont", "cant", "wont",
    "fucking", "fuckin", "goddamn", "bloody", "damn", "damned", "shit", "shitty", "crap",
    "crappy", "freaking", "fking",
}  # fmt: skip
_BAD_ENDS = {
    "to", "a", "an", "the", "with", "for", "of", "from", "and", "or", "in", "on", "at",
    "about", "some", "how", "what", "our", "your", "my", "is", "are",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z0-9#$'.-]+")


def _second_person(words: Sequence[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        lower = word.lower()
        if lower == "you":
            out.append("us" if out and out[-1].lower() in _AFTER_PREPOSITION else "we")
        else:
            out.append(_SECOND_PERSON.get(lower, word))
    return out


def restatements(message: str) -> list[str]:
    """Sentences that say the customer's request back in their own words, best first; none
    when the message does not read well said back (typos, slang, keywords only)."""
    text = " ".join(message.split())
    for pattern, kind, says in _FRAMES:
        match = pattern.match(text)
        if match is None:
            continue
        rest = _TAILS.sub("", match.group("vp")).strip()
        words = rest.split()
        if not 2 <= len(words) <= 14 or not all(_WORD.fullmatch(w) for w in words):
            return []
        if {w.lower() for w in words} & _UNQUOTABLE or words[-1].lower() in _BAD_ENDS:
            return []
        vp = " ".join(_second_person(words))
        gerund = words[0].lower().endswith("ing")
        if kind == "base" and gerund:
            return []
        help_vp = f"with {vp}" if gerund or kind == "noun" else f"to {vp}"
        return [s.format(vp=vp, vp_help=help_vp) for s in says]
    return []


# -- mistakes -------------------------------------------------------------------------------------
# Promises the policy behind the dataset's replies does not make, by category.
PROMISES: dict[str, tuple[str, ...]] = {
    "order": (
        "Any change or cancellation is free of charge, even after the order has shipped.",
        "We have already put a hold on this order for you.",
        "Your order is guaranteed to arrive within 24 hours.",
    ),
    "shipping_address": (
        "We have already updated the address on your order for you.",
        "An address change is always possible, even after the parcel has left our warehouse.",
    ),
    "cancellation_fee": (
        "There is no fee to cancel, whatever the status of your order.",
        "We will waive the cancellation fee for you this time.",
    ),
    "invoice": (
        "We have emailed a copy of the invoice to you just now.",
        "We can also reissue the invoice in another company's name.",
    ),
    "payment": (
        "We have waived the payment fee on your account.",
        "Your payment has gone through now, so there is nothing else to do.",
        "We also accept cryptocurrency and cash on delivery.",
    ),
    "refund": (
        "Your refund will be in your account within 24 hours.",
        "You will get a full refund even without returning the item.",
        "We refund every purchase, no questions asked, for up to a year.",
    ),
    "feedback": (
        "As an apology, we will send you a $50 voucher.",
        "We will refund your last order as compensation.",
    ),
    "contact": (
        "Our phone line is open 24 hours a day, seven days a week.",
        "An agent will call you back within five minutes.",
    ),
    "account": (
        "We have already made the change to your account for you.",
        "Your data is kept for 30 days after deletion in case you change your mind.",
    ),
    "delivery": (
        "Delivery is free on every order.",
        "We guarantee delivery within 24 hours anywhere in the world.",
    ),
    "newsletter": (
        "Subscribers get 20% off every order.",
        "You will receive a $10 voucher as soon as you subscribe.",
    ),
}
# The reply of a related but different intent, as a model that misread the request gives it.
CONFUSED_WITH = {
    "cancel_order": "change_order",
    "change_order": "cancel_order",
    "place_order": "track_order",
    "track_order": "delivery_period",
    "change_shipping_address": "change_order",
    "set_up_shipping_address": "edit_account",
    "check_cancellation_fee": "cancel_order",
    "check_invoice": "payment_issue",
    "get_invoice": "check_payment_methods",
    "check_payment_methods": "payment_issue",
    "payment_issue": "check_payment_methods",
    "check_refund_policy": "track_refund",
    "get_refund": "track_refund",
    "track_refund": "get_refund",
    "complaint": "review",
    "review": "complaint",
    "contact_customer_service": "contact_human_agent",
    "contact_human_agent": "contact_customer_service",
    "create_account": "switch_account",
    "delete_account": "edit_account",
    "edit_account": "delete_account",
    "recover_password": "edit_account",
    "registration_problems": "create_account",
    "switch_account": "create_account",
    "delivery_options": "delivery_period",
    "delivery_period": "delivery_options",
    "newsletter_subscription": "create_account",
}
# The dataset's reply with the step that does the job left out.
WITHOUT_STEP = {
    "cancel_order": "We're sorry to hear you want to cancel your order. If you need assistance, "
    "please contact our support team.",
    "change_order": "Note that changes may only be possible within a limited time frame after "
    "placing the order.",
    "place_order": "Placing an order is easy! If you need assistance, we're here to help.",
    "track_order": "You can track your order's status online.",
    "change_shipping_address": "If your order has not yet shipped, you may also update the "
    "address by contacting our customer service.",
    "set_up_shipping_address": "Don't hesitate to reach out if you need help!",
    "check_cancellation_fee": "Cancellation fees may apply depending on the status of your order.",
    "check_invoice": "If you encounter any issues or need a physical copy, please contact our "
    "customer service.",
    "get_invoice": "If you need further assistance, our customer support is here to help.",
    "check_payment_methods": "You can find more details on our payment options page or during "
    "checkout.",
    "payment_issue": "If you're experiencing issues with your payment, we'll help resolve the "
    "problem.",
    "check_refund_policy": "If you have specific questions regarding a return, please contact "
    "our support team.",
    "get_refund": "If you need to request a refund, please contact our support team.",
    "track_refund": "To track the status of your refund, please contact our support team.",
    "complaint": "We're truly sorry that you're not satisfied with our service.",
    "review": "We appreciate your feedback!",
    "contact_customer_service": "You can reach our customer service team via the 'Contact Us' "
    "page on our website.",
    "contact_human_agent": "If you need to speak to a human agent, please call us. Our team is "
    "here to help!",
    "create_account": "To create an account, just follow the prompts. If you encounter any "
    "issues, our support team is here to assist you.",
    "delete_account": "If you wish to delete your account, note that this action is permanent "
    "and cannot be undone.",
    "edit_account": "If you have any trouble, please don't hesitate to contact us.",
    "recover_password": "If you've forgotten your password, you'll receive an email with "
    "instructions to reset your password.",
    "registration_problems": "If you're having trouble registering, we'll assist you in "
    "creating your account.",
    "switch_account": "If you need assistance switching between accounts, please contact our "
    "support team.",
    "delivery_options": "You can view all available options and their costs during checkout.",
    "delivery_period": "Please note that delivery times may vary based on location and product "
    "availability.",
    "newsletter_subscription": "You'll be the first to know about special offers and new products!",
}
ACCOUNT_TYPES = ("Freemium", "Pro", "Platinum", "Premium", "Gold", "Standard", "free")

WRONG_DETAIL, PROMISE, WRONG_INTENT, MISSING_STEP = (
    "wrong_detail",
    "unsupported_promise",
    "wrong_intent",
    "missing_step",
)
MISTAKE_KINDS = (WRONG_DETAIL, PROMISE, WRONG_INTENT, MISSING_STEP)
# The dataset's own reply answers a different request (newsletter: unsubscribe).
DATASET_WRONG_INTENT = "dataset_wrong_intent"


@dataclass(frozen=True)
class Draft:
    """A composed draft, and how it was put together (for ``mistake``)."""

    text: str
    body: str  # the reply in it (the dataset's, with the customer's details written in)
    slots: dict[str, str]  # slot -> the customer's value as written in the draft
    forms: dict[str, tuple[str, ...]]  # slot -> every form of that value in the draft
    intent: str
    category: str
    unsubscribe: bool


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def slots_of(row: Row) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The customer's value for the row's entity, as a reply writes it, and every form of it
    (the reply's and the message's own)."""
    kind = SLOT_OF_ENTITY.get(row["entity_type"])
    if kind is None or not row["entity_value"]:
        return {}, {}
    shown = row["instruction"][int(row["start_offset"]) : int(row["end_offset"])]
    value = row["entity_value"]
    if kind == "amount":
        written = f"${int(value):,}" if value.isdigit() else value
        return {kind: written}, {kind: tuple(dict.fromkeys((written, shown)))}
    if kind in ("order", "invoice"):
        return {kind: shown}, {kind: (shown,)}
    return {kind: value}, {kind: tuple(dict.fromkeys((value, shown)))}


def compose(
    row: Row,
    replies: Mapping[str, str],
    rng: random.Random,
    used: set[str],
    said: Counter[str] | None = None,
) -> Draft:
    """The row's draft, distinct from every text in ``used`` (which it joins). ``said`` counts
    the restating sentences used so far: the least used comes first, so that drafts of one
    intent vary as much as they can."""
    intent, category = row["intent"], row["category"].lower()
    message = row["instruction"]
    slots, forms = slots_of(row)
    fill = {**slots, "a_account": _a(slots["account"]) if "account" in slots else ""}
    body = replies[intent]
    for kind, old, new in INSERTIONS.get(intent, ()):
        if kind in slots and old in body:
            body = body.replace(old, new.format(**fill), 1)

    unsubscribe = intent == "newsletter_subscription" and bool(UNSUBSCRIBE.search(message))
    tags = set(row["tags"])
    echoes = [] if tags & {"Z", "W", "E"} else restatements(message)
    if "name" in slots:
        # The name goes in the greeting; a restatement naming the person again reads oddly.
        echoes = [e for e in echoes if slots["name"] not in e]
    pool = UNSUBSCRIBE_TEMPLATES if unsubscribe else TEMPLATES[intent]
    with_slot = [t for t in pool if "{" in t and _fits(t, slots)]
    plain = [t for t in pool if "{" not in t]
    rng.shuffle(echoes)
    rng.shuffle(with_slot)
    rng.shuffle(plain)
    sentences = echoes + [t.format(**fill) for t in with_slot] + plain
    if said is not None:
        sentences.sort(key=lambda sentence: said[sentence])  # stable: the order above breaks ties

    sorry = ""
    if "W" in tags:
        sorry = rng.choice(SORRY_ANGRY)
    elif intent in TROUBLE_INTENTS and rng.random() < 0.5:
        sorry = rng.choice(SORRY_TROUBLE)
    greetings: list[str] = (
        [g.format(name=slots["name"]) for g in NAMED_GREETINGS]
        if "name" in slots
        else ["", "", *GREETINGS]
    )
    closings = ["", "", *CLOSINGS]
    pairs = [(g, c) for g in dict.fromkeys(greetings) for c in dict.fromkeys(closings)]
    rng.shuffle(pairs)
    for sentence in sentences:
        for greeting, closing in pairs:
            text = _layout(greeting, [sorry, sentence, body, closing])
            if text not in used:
                used.add(text)
                if said is not None:
                    said[sentence] += 1
                return Draft(text, body, slots, forms, intent, category, unsubscribe)
    raise ValueError(f"no distinct draft left for row {message!r}")  # pragma: no cover


def _fits(template: str, slots: Mapping[str, str]) -> bool:
    names = set(re.findall(r"{(\w+)}", template))
    return names <= set(slots) | {"a_account"} and ("a_account" not in names or "account" in slots)


def _layout(greeting: str, parts: Sequence[str]) -> str:
    paragraph = " ".join(p for p in parts if p)
    return f"{greeting}\n\n{paragraph}" if greeting else paragraph


def mistake_kinds(draft: Draft) -> list[str]:
    """The mistakes that can be made in ``draft``."""
    kinds = []
    if any(
        k in draft.slots and _in_text(draft, k) for k in ("order", "invoice", "account", "amount")
    ):
        kinds.append(WRONG_DETAIL)
    kinds += [PROMISE, WRONG_INTENT, MISSING_STEP]
    return kinds


def _in_text(draft: Draft, slot: str) -> bool:
    return any(form.lower() in draft.text.lower() for form in draft.forms[slot])


def mistake(
    draft: Draft, kind: str, replies: Mapping[str, str], rng: random.Random, used: set[str]
) -> tuple[str, dict[str, Any]] | None:
    """``draft`` with a mistake of ``kind``: the new text, and the answer key's entry (what is
    wrong, and the replacements that correct it, in order); None if that text is taken."""
    text = draft.text
    if kind == WRONG_DETAIL:
        slot = next(
            k
            for k in ("order", "invoice", "account", "amount")
            if k in draft.slots and _in_text(draft, k)
        )
        right = draft.slots[slot]
        wrong = _wrong_value(slot, right, rng)
        fix: list[list[str]] = []
        for form in draft.forms[slot]:
            if form.lower() in text.lower():
                other = _wrong_value(slot, form, rng, like=(right, wrong))
                text = re.sub(re.escape(form), lambda _m, o=other: o, text, flags=re.IGNORECASE)
                fix.append([other, form])
        label = {
            "order": "order",
            "invoice": "invoice",
            "account": "account type",
            "amount": "amount",
        }
        what = f"names {label[slot]} {fix[0][0]}; the customer wrote {fix[0][1]}"
    elif kind == PROMISE:
        promise = rng.choice(PROMISES[draft.category])
        text = text.replace(draft.body, f"{draft.body} {promise}", 1)
        fix = [[f" {promise}", ""]]
        what = f"promises what the policy does not: {promise!r}"
    elif kind == WRONG_INTENT:
        other = CONFUSED_WITH[draft.intent]
        text = text.replace(draft.body, replies[other], 1)
        fix = [[replies[other], draft.body]]
        what = f"answers {other.replace('_', ' ')} instead of {draft.intent.replace('_', ' ')}"
    elif kind == MISSING_STEP:
        text = text.replace(draft.body, WITHOUT_STEP[draft.intent], 1)
        fix = [[WITHOUT_STEP[draft.intent], draft.body]]
        what = "leaves out the step that does what the customer asked"
    else:
        raise ValueError(kind)
    if text == draft.text or text in used:
        return None
    used.discard(draft.text)
    used.add(text)
    return text, {"kind": kind, "what": what, "fix": fix}


def _wrong_value(
    slot: str, value: str, rng: random.Random, like: tuple[str, str] | None = None
) -> str:
    """A value that could be mistaken for ``value``: two neighbouring digits swapped, or another
    account type. ``like``: (right, wrong) chosen before, so that every form changes alike."""
    if like is not None:
        right, wrong = like
        if value == right:
            return wrong
        if slot == "account":
            return wrong
        digits_right, digits_wrong = re.sub(r"\D", "", right), re.sub(r"\D", "", wrong)
        return value.replace(digits_right, digits_wrong) if digits_right in value else wrong
    if slot == "account":
        return rng.choice([a for a in ACCOUNT_TYPES if a.lower() != value.lower()])
    positions = [
        i
        for i in range(len(value) - 1)
        if value[i].isdigit() and value[i + 1].isdigit() and value[i] != value[i + 1]
    ]
    i = rng.choice(positions[-4:])
    return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
