"""PII detectors: email, phone, credit card (Luhn), IBAN (mod-97), IPv4, API keys; each replaced by ``[KIND]``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Characters that can sit on either side of the single space inside a multi-token PII match (a phone number
# "+1 (555) 123 4567", a card "4111 1111 1111 1111", an IBAN "DE89 3704 0044 0532 0130 00"). The stream guard
# never cuts between two tokens joined by one space with such characters around it.
JOIN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+()-.")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    s = iban.replace(" ", "").upper()
    if not (15 <= len(s) <= 34) or not s[:2].isalpha() or not s[2:4].isdigit() or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _card_ok(text: str) -> bool:
    digits = _digits(text)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


_DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def _phone_ok(text: str) -> bool:
    return 9 <= len(_digits(text)) <= 15 and not _DOTTED_QUAD.fullmatch(text)


@dataclass(frozen=True)
class Detector:
    """One PII kind: a regex, an optional validator of each match, and its placeholder."""

    kind: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None

    @property
    def placeholder(self) -> str:
        return f"[{self.kind.upper()}]"


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

# Order matters: secrets, emails and IPv4 addresses first (they contain digits a phone pattern would take), then
# IBANs and cards (validated; a failed check leaves the text for the next detector), then phones.
DETECTORS: dict[str, Detector] = {
    d.kind: d
    for d in (
        Detector(
            "api_key",
            re.compile(
                r"(?<![\w-])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
                r"|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}"
                r"|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})(?![\w-])"
            ),
        ),
        Detector(
            "email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
        ),
        Detector("ip_address", re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w.])")),
        Detector(
            "iban", re.compile(r"(?<![\w])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])"), iban_ok
        ),
        Detector("credit_card", re.compile(r"(?<![\w])[0-9](?:[ -]?[0-9]){12,18}(?![\w])"), _card_ok),
        Detector(
            "phone",
            re.compile(
                r"(?<![\w+])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){1,4}(?![\w])"
            ),
            _phone_ok,
        ),
    )
}


def redact(text: str, kinds: Iterable[str]) -> tuple[str, Counter[str]]:
    """``text`` with every match of the given kinds replaced by its placeholder, and how many per kind."""
    wanted = set(kinds)
    counts: Counter[str] = Counter()
    for kind, det in DETECTORS.items():
        if kind not in wanted:
            continue

        def _sub(m: re.Match[str], det: Detector = det) -> str:
            if det.validate is not None and not det.validate(m.group(0)):
                return m.group(0)
            counts[det.kind] += 1
            return det.placeholder

        text = det.pattern.sub(_sub, text)
    return text, counts
