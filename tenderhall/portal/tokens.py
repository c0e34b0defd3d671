"""The search's tokens and order keys, pure: no ORM, no clock (import-linter keeps it so).

How a text becomes tokens and a query becomes phrases is explained in ``docs/portal-search.md`` and in
``tenderhall/portal/search.py``, which stores and queries them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_TERMS = 16_000
"""Text tokens indexed per notice. PostgreSQL keeps token positions up to 16 383 and phrase matching beyond
would differ from SQLite's, so both stop here: a notice's first ~16 000 characters are searchable."""

MAX_WORD = 64
"""A longer run of ASCII letters and digits is cut to this length (PostgreSQL refuses lexemes over 2 KB)."""

MAX_QUERY_TOKENS = 64
"""Tokens taken from a query; a longer query is cut (64 consecutive bigrams pin a phrase down)."""

_RUNS = re.compile(r"([a-z0-9]+)|([^\W\x00-\x7f]+)")
"""After normalisation: ASCII letters and digits, or letters and numbers that are not ASCII."""


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII, compatibility forms their base), then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _runs(normalised: str) -> Iterator[tuple[bool, str]]:
    """The runs of a normalised text in order, as ``(is_word, run)``; anything else only separates runs."""
    for match in _RUNS.finditer(normalised):
        word, chars = match.groups()
        yield (True, word[:MAX_WORD]) if word else (False, chars)


def _run_tokens(is_word: bool, run: str) -> list[str]:
    if is_word:
        return [run]
    # Overlapping bigrams, then the run's last character alone: each character of the run starts exactly
    # one token, which is what a one-character query looks for.
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def document_terms(text: str) -> list[str]:
    """The token stream indexed for a text, in order (positions matter: queries match phrases)."""
    terms: list[str] = []
    for is_word, run in _runs(normalise(text)):
        terms += _run_tokens(is_word, run)
        if len(terms) >= MAX_TERMS:
            return terms[:MAX_TERMS]
    return terms


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur consecutively; with ``prefix``, the last one may be the start of a token."""

    tokens: tuple[str, ...]
    prefix: bool = False


def query_phrases(query: str) -> list[Phrase]:
    """The phrases a query asks for; a notice must match all of them.

    Whitespace separates phrases (``道路 改造`` finds notices with both, anywhere). Within a phrase, the
    tokens are the document tokens of its text, less the last character of a final character run (in a
    notice that run may go on: ``道路`` must find ``道路改造``). A phrase ending in a one-character run asks
    for a token that starts with that character (``桥`` finds ``桥梁`` and ``大桥``).
    """
    phrases: list[Phrase] = []
    budget = MAX_QUERY_TOKENS
    for part in normalise(query).split():
        runs = list(_runs(part))
        tokens: list[str] = []
        prefix = False
        for index, (is_word, run) in enumerate(runs):
            run_tokens = _run_tokens(is_word, run)
            if index == len(runs) - 1 and not is_word:
                if len(run) == 1:
                    prefix = True
                else:
                    run_tokens = run_tokens[:-1]
            tokens += run_tokens
        if len(tokens) > budget:
            tokens, prefix = tokens[:budget], False
        if not tokens:
            continue
        budget -= len(tokens)
        phrase = Phrase(tuple(tokens), prefix=prefix)
        if phrase not in phrases:
            phrases.append(phrase)
        if budget <= 0:
            break
    return phrases


# Filter and time-block tokens: an ASCII letter, a Chinese mark, then ASCII. Text tokens are all ASCII or all
# not, so these never equal one, and they never start like a one-character query's prefix.


def _hex(value: str) -> str:
    return value.encode().hex()


def region_prefix(region_code: str) -> str:
    """The code prefix that a region filter means: ``420000`` all of 湖北省, ``420100`` all of 武汉市,
    ``420102`` 江岸区 only."""
    code = region_code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_token(region_code: str) -> str:
    return f"q区{region_prefix(region_code)}"


def sector_token(sector: str) -> str:
    return f"q业{_hex(sector)}"


def procedure_type_token(procedure_type: str) -> str:
    return f"q式{_hex(procedure_type)}"


def kind_token(kind: str) -> str:
    return f"q类{_hex(kind)}"


BLOCK_LEVELS = (20, 22, 24, 26, 28)
"""Time blocks of 2**20 s (about 12 days), 2**22 (48 days), 2**24 (194 days), 2**26 (2.1 years) and 2**28
seconds (8.5 years), aligned on the epoch. PostgreSQL's search walks them (see search.py)."""


def block_token(level: int, index: int) -> str:
    return f"q期{level}x{index}"


def blocks(newest: int, oldest: int) -> Iterator[tuple[int, int]]:
    """``(level, index)`` of aligned blocks covering the seconds ``[oldest, newest]``, newest first: the
    smallest block holding ``newest``, then blocks each at most one level larger than the one before."""
    level = 0
    size = 1 << BLOCK_LEVELS[0]
    end = (newest // size) * size + size  # exclusive
    while end > oldest:
        if level + 1 < len(BLOCK_LEVELS) and end % (1 << BLOCK_LEVELS[level + 1]) == 0:
            level += 1
        shift = BLOCK_LEVELS[level]
        yield level, (end >> shift) - 1
        end -= 1 << shift


def notice_terms(
    *,
    title: str,
    body: str,
    region_code: str,
    sector: str,
    procedure_type: str,
    kind: str,
    published_at: datetime,
) -> list[str]:
    """Everything indexed for a published notice: its title and body, then its filter and block tokens."""
    code = region_code.strip()
    regions = dict.fromkeys(f"q区{code[:n]}" for n in (2, 4, 6) if len(code) >= n)
    second = _epoch_second(published_at)
    return [
        *document_terms(f"{title}\n{body}"),
        *regions,
        sector_token(sector),
        procedure_type_token(procedure_type),
        kind_token(kind),
        *(block_token(level, second >> level) for level in BLOCK_LEVELS),
    ]


# --- ranks -----------------------------------------------------------------------------------------------

_ID_BITS = 31
_ID_MASK = (1 << _ID_BITS) - 1
LEGAL_TIME_ZONE = ZoneInfo("Asia/Shanghai")
"""Date filters are calendar days in Beijing time, as the notices state them."""


def _epoch_second(moment: datetime) -> int:
    return int(moment.timestamp())  # whole seconds: sub-second order is by notice id


def notice_rank(published_at: datetime, notice_id: int) -> int:
    """The order key: later publication second first, then the higher notice id."""
    if not 0 < notice_id <= _ID_MASK:
        msg = f"notice id {notice_id} does not fit the search rank"
        raise ValueError(msg)
    return (_epoch_second(published_at) << _ID_BITS) | notice_id


def rank_notice_id(rank: int) -> int:
    return rank & _ID_MASK


def rank_at_day_start(day: date) -> int:
    """The lowest rank of notices published on or after the start of ``day`` (Beijing time)."""
    start = datetime.combine(day, time(0), tzinfo=LEGAL_TIME_ZONE)
    return _epoch_second(start) << _ID_BITS


def rank_after_day(day: date) -> int:
    """The lowest rank after ``day`` ends (Beijing time): an exclusive upper bound that includes ``day``."""
    return rank_at_day_start(day + timedelta(days=1))


def rank_published_at(rank: int) -> datetime:
    return datetime.fromtimestamp(rank >> _ID_BITS, tz=UTC)


def rank_second(rank: int) -> int:
    """The publication second (since the epoch) of a rank."""
    return rank >> _ID_BITS


def block_ranks(level: int, index: int) -> tuple[int, int]:
    """The ranks ``[low, below)`` of the notices published in a time block."""
    shift = BLOCK_LEVELS[level]
    return (index << shift) << _ID_BITS, ((index + 1) << shift) << _ID_BITS


# --- query strings ---------------------------------------------------------------------------------------


def fts5_query(phrases: Sequence[Phrase], tokens: Sequence[str]) -> str:
    """The FTS5 MATCH expression: each phrase a quoted string (``*`` after it: its last token a prefix),
    each filter token a one-token string, all ANDed."""
    parts = ['"' + " ".join(p.tokens) + '"' + (" *" if p.prefix else "") for p in phrases]
    parts += [f'"{token}"' for token in tokens]
    return " AND ".join(parts)


def _ts_phrase(tokens: Sequence[str], *, prefix: bool) -> str:
    lexemes = [f"'{token}'" for token in tokens]
    if prefix:
        lexemes[-1] += ":*"
    return "(" + " <-> ".join(lexemes) + ")"


def tsqueries(phrases: Sequence[Phrase], tokens: Sequence[str]) -> tuple[str, str]:
    """PostgreSQL tsquery texts ``(indexed, recheck)``: a row matches when it matches both (``recheck`` may
    be empty).

    GIN keeps no positions, so it cannot check a phrase itself: it finds the rows holding all the lexemes,
    then each row's tsvector is read again to check the order. ``indexed`` is what GIN answers exactly:
    every exact lexeme, ANDed (a prefix lexeme only when it is a whole phrase, a one-character query: as a
    part of a phrase it would make GIN merge the postings of every lexeme it starts, ``月:*`` has
    hundreds). ``recheck`` holds the phrases of more than one token, checked once per row that GIN found.
    """
    indexed: list[str] = []
    recheck: list[str] = []
    for phrase in phrases:
        if len(phrase.tokens) == 1:
            indexed.append(_ts_phrase(phrase.tokens, prefix=phrase.prefix))
            continue
        exact = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
        indexed += [f"'{token}'" for token in dict.fromkeys(exact)]
        recheck.append(_ts_phrase(phrase.tokens, prefix=phrase.prefix))
    indexed += [f"'{token}'" for token in tokens]
    return " & ".join(indexed), " & ".join(recheck)


def tsquery(phrases: Sequence[Phrase], tokens: Sequence[str]) -> str:
    """The whole query as one tsquery, for rows read one by one (no index): phrases and filter tokens."""
    parts = [_ts_phrase(phrase.tokens, prefix=phrase.prefix) for phrase in phrases]
    return " & ".join([*parts, *(f"'{token}'" for token in tokens)])
