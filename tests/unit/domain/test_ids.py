"""Ids are stable and derive from identity; hashes from content."""

from __future__ import annotations

from twin_core.domain import ArticleDocument, Author, Chunk, PostDocument, content_hash, stable_id
from twin_core.domain.ids import normalize_link


def test_author_id_ignores_case_and_spacing() -> None:
    assert Author(full_name="Ada  Lovelace").id == Author(full_name="ada lovelace").id
    assert Author(full_name="Ada Lovelace").id != Author(full_name="Ada Byron").id


def test_document_id_is_platform_and_normalised_link() -> None:
    a = ArticleDocument(
        platform="medium", link="https://Medium.com/@a/x/", author_id="a", author_name="A", content={"body": "1"}
    )
    b = ArticleDocument(
        platform="medium", link="https://medium.com/@a/x#top", author_id="a", author_name="A", content={"body": "2"}
    )
    assert a.id == b.id
    assert a.content_hash != b.content_hash
    c = PostDocument(
        platform="linkedin", link="https://medium.com/@a/x", author_id="a", author_name="A", content={"text": "1"}
    )
    assert c.id != a.id


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": "x "}) != content_hash({"a": "x"})


def test_chunk_id_depends_on_document_position_and_content() -> None:
    kw = dict(document_id="d", author_id="a", author_name="A", category="post", platform="p", link="l")
    c1, c2 = Chunk(position=0, content="hello", **kw), Chunk(position=0, content="hello", **kw)
    assert c1.id == c2.id
    assert Chunk(position=1, content="hello", **kw).id != c1.id
    assert Chunk(position=0, content="hello!", **kw).id != c1.id


def test_stable_id_and_link_normalisation() -> None:
    assert stable_id("x", "a", "b") == stable_id("x", "a", "b") != stable_id("x", "ab", "")
    assert normalize_link("HTTPS://Example.com/Path/?q=1#f") == "https://example.com/Path?q=1"
