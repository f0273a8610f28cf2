"""StreamGuard: never emits a partial PII or banned term; its output equals check_output of the whole text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_core.guardrails import Guardrails
from twin_core.guardrails.settings import GuardrailSettings

G = Guardrails(
    GuardrailSettings.model_validate(
        {
            "output": {
                "redact_pii": ["email", "phone", "credit_card", "iban", "ip_address", "api_key"],
                "banned_terms": ["secret", "top plan"],
            }
        }
    )
)
G_CUT = Guardrails(GuardrailSettings.model_validate({"output": {"banned_terms": ["secret"], "max_chars": 40}}))

PIECES = [
    "a@b.io", "me.x@mail.example.com", "+1 (555) 123-4567", "555 123 4567", "4111 1111 1111 1111",
    "4111 1111 1111 1112", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "10.0.0.1",
    "sk-abcdefghijklmnopqrstuvwxyz", "secret", "SECRET", "top plan", "top", "plan", "hello", "world", "AB",
    "12", "(", ")", "+", "-", ".", ",", " ", "  ", "\n", "\t", "é", "ß",
]  # fmt: skip


def run_stream(guard: Guardrails, text: str, cuts: list[int]) -> tuple[str, list[str]]:
    s = guard.stream_guard()
    points = sorted({min(c, len(text)) for c in cuts})
    chunks, prev = [], 0
    for p in [*points, len(text)]:
        chunks.append(s.feed(text[prev:p]))
        prev = p
    chunks.append(s.finish())
    return "".join(chunks), chunks


text_st = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=25).map("".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_st, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=12))
def test_stream_equals_check_output(text: str, cuts: list[int]) -> None:
    out, _ = run_stream(G, text, cuts)
    assert out == G.check_output(text).text


@settings(max_examples=150, deadline=None)
@given(text=text_st, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=12))
def test_stream_equals_check_output_with_length_cut(text: str, cuts: list[int]) -> None:
    out, _ = run_stream(G_CUT, text, cuts)
    assert out == G_CUT.check_output(text).text


def test_no_partial_pii_or_term_is_emitted() -> None:
    text = "Reach me at jane@example.com or 555 123 4567, the secret is safe. Bye"
    _, chunks = run_stream(G, text, list(range(len(text))))
    emitted = "".join(chunks)
    assert emitted == "Reach me at [EMAIL] or [PHONE], the [removed] is safe. Bye"
    assert not any(c in ("jane", "555", "sec", "secr") for c in chunks)
    prefix = ""
    for c in chunks:
        prefix += c
        for leak in ("jane", "555", "123", "secre"):
            assert leak not in prefix


def test_stream_emits_early_for_ordinary_text() -> None:
    s = G.stream_guard()
    assert s.feed("Hello there ") == "Hello "
    assert s.feed("friend ") == "there "
    assert s.finish() == "friend "
    assert [d.action for d in s.decisions] == ["allow"]


def test_stream_decisions_after_length_cut() -> None:
    s = G_CUT.stream_guard()
    out = s.feed("word " * 20) + s.feed("more words") + s.finish()
    assert out == G_CUT.check_output("word " * 20 + "more words").text
    assert len(out) <= 40
    assert any(d.guard == "length" for d in s.decisions)
