"""Query expansion: by the LLM when configured, else by pseudo-relevance feedback (tf-idf terms of the top hits)."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from twin_core.rag.settings import ExpansionSettings

log = logging.getLogger("twin.rag")

_WORD = re.compile(r"[a-z][a-z0-9'+-]*[a-z0-9]|[a-z]", re.I)
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each even
    ever every few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's like made make makes many may me might more most much must mustn't my myself never new no nor not now
    of off often on once one only or other ought our ours ourselves out over own really same say says shan't she
    she'd she'll she's should shouldn't so some still such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've thing things this those though through to too two under
    until up upon us use used using very via was wasn't way we we'd we'll we're we've well were weren't what what's
    when when's where where's which while who who's whom why why's will with within without won't would wouldn't yes
    yet you you'd you'll you're you've your yours yourself yourselves""".split()  # noqa: SIM905
)


def tokens(text: str) -> list[str]:
    """Lower-cased words without stopwords, numbers or one-letter tokens."""
    words = (m.group(0).lower().removesuffix("'s").strip("'-+") for m in _WORD.finditer(text))
    return [w for w in words if len(w) > 2 and w not in STOPWORDS]


def prf_terms(query: str, feedback: Sequence[str], background: Sequence[str], n: int) -> list[str]:
    """The ``n`` terms most characteristic of ``feedback`` (top hits) against ``background`` (all hits), query excluded.

    Score = sum over feedback texts of the term's length-normalised frequency, times a smoothed idf over the
    background, so words frequent in the top hits but rare among the other candidates rank first.
    """
    seen = set(tokens(query))
    docs = [set(tokens(t)) for t in background] or [set()]
    df = Counter(w for d in docs for w in d)
    n_docs = len(docs)
    scores: Counter[str] = Counter()
    for text in feedback:
        words = tokens(text)
        if not words:
            continue
        for word, count in Counter(words).items():
            if word in seen:
                continue
            idf = math.log((n_docs + 1) / (df.get(word, 0) + 1)) + 1.0
            scores[word] += count / len(words) * idf
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [w for w, _ in ranked[:n]]


def prf_queries(
    query: str, feedback: Sequence[str], background: Sequence[str], settings: ExpansionSettings
) -> list[str]:
    """``expansions - 1`` extra queries: the question plus a different slice of the PRF terms each (round-robin)."""
    extra = settings.expansions - 1
    if extra <= 0 or not feedback:
        return []
    terms = prf_terms(query, feedback, background, settings.prf_terms * extra)
    out = []
    for j in range(extra):
        picked = terms[j::extra][: settings.prf_terms]
        if picked:
            out.append(f"{query} {' '.join(picked)}")
    return list(dict.fromkeys(out))


class _Rewrites(BaseModel):
    queries: list[str] = Field(description="Alternative phrasings of the question for a search engine")


def llm_queries(query: str, settings: ExpansionSettings, llm: Any) -> list[str]:
    """``expansions - 1`` rewrites of the question by the LLM (JSON), different from it and each other."""
    extra = settings.expansions - 1
    if extra <= 0:
        return []
    messages = [
        {
            "role": "system",
            "content": "You rewrite search questions. Give different phrasings with other words and synonyms.",
        },
        {"role": "user", "content": f"Give {extra} alternative search queries for: {query}"},
    ]
    answer = llm.complete_json(messages, _Rewrites, temperature=0.0)
    seen, out = {query.strip().lower()}, []
    for q in answer.queries:
        q = " ".join(str(q).split())
        if q and q.lower() not in seen:
            seen.add(q.lower())
            out.append(q)
    return out[:extra]
