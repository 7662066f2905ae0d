"""Category words appeal ledgers use that name no category (绿化, 城市管理 …).

An import files such a word's appeals under 其他 with one warning per word (and its
count) and remembers the word here with how often it was met (`record_seen`). An
administrator maps each word to a category once (`map_word`); from then on imports
read the word as that category, without a warning (`mapped`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.errors import NotFound
from crm.models import Category, CategoryWord
from crm.services import audit

WORD_CHARS = 60  # longer cells are warned about but not remembered


def mapped(session: Session) -> dict[str, str]:
    """{word: category name} of every word an administrator mapped."""
    return dict(session.execute(select(CategoryWord.word, Category.name)
                                .join(Category, Category.id == CategoryWord.category_id)).all())


def record_seen(session: Session, counts: dict[str, int]) -> None:
    """Count the unmapped words an import met (inside the import's transaction)."""
    counts = {w: n for w, n in counts.items() if w and len(w) <= WORD_CHARS}
    if not counts:
        return
    stored = {row.word: row for row in session.scalars(
        select(CategoryWord).where(CategoryWord.word.in_(list(counts))))}
    for word, n in counts.items():
        if word in stored:
            stored[word].seen += n
        else:
            session.add(CategoryWord(word=word, seen=n))
    session.flush()


def list_words(session: Session, *, actor: Actor | None) -> list[dict]:
    """Every word met, unmapped first, then by how often it was met."""
    require(actor, "reference.manage")
    rows = session.execute(select(CategoryWord, Category.name)
                           .outerjoin(Category, Category.id == CategoryWord.category_id)
                           .order_by(CategoryWord.category_id.is_not(None),
                                     CategoryWord.seen.desc(), CategoryWord.word))
    return [{"id": w.id, "word": w.word, "seen": w.seen, "category": name}
            for w, name in rows]


def map_word(session: Session, word_id: int, category: str | None, *,
             actor: Actor | None) -> CategoryWord:
    """Map a word to the category of that name (None: unmap it)."""
    require(actor, "reference.manage")
    word = session.get(CategoryWord, word_id)
    if word is None:
        raise NotFound(f"category word {word_id}", key="category_word.not_found")
    cid = None
    if category is not None:
        cid = session.scalar(select(Category.id).where(Category.name == category))
        if cid is None:
            raise NotFound(f"category {category}", key="category_word.no_category",
                           name=category)
    if word.category_id != cid:
        audit.record(session, actor, "category_word.map", "category_word", word.id,
                     word=word.word, category=category)
        word.category_id = cid
        session.flush()
    return word


def map_words(session: Session, changes: dict[int, str | None], *,
              actor: Actor | None) -> int:
    """The reference page's table: {word id: category name or None}, in one transaction."""
    require(actor, "reference.manage")
    for word_id, category in changes.items():
        map_word(session, word_id, category, actor=actor)
    return len(changes)
