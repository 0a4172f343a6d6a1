"""The feedback store: answers as they were shown and the votes on them.

A SQLite file of its own, never the index: a reindex or a deleted index loses none of it.
Telegram ids are kept only as a keyed hash (the key lives in a file beside the store, so
the store alone cannot be matched back to people) unless the configuration says otherwise.
What the votes mean and add up to is bot/feedback.py; no Telegram code here either.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from .answer import Answer, Citation
from .feedback import (
    DEFAULT_DAYS,
    Asker,
    Complaint,
    FeedbackError,
    GoldExport,
    Recorded,
    Stats,
    StoredVote,
    Vote,
    daily_stats,
    gold_export,
)

SCHEMA_VERSION = "1"
# Characters of the vote token in a button's data: 48 bits of an HMAC, enough that a
# forged press is refused, few enough to keep callback data far under Telegram's 64 bytes.
TOKEN_CHARS = 8
_KEY_BYTES = 32


def _stamp(now: dt.datetime | None) -> str:
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_path(path: Path) -> Path:
    """The file holding the key ids are hashed with, beside the store."""
    return path.with_name(path.name + ".key")


class FeedbackStore:
    """Answers, votes and not-found questions in a SQLite file through sqlite-utils.

    Safe to share between threads: one connection, one lock.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, store_ids: bool) -> None:
        self.path = path
        self.store_ids = store_ids
        self._conn = conn
        self._db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        self._key: bytes | None = None

    @classmethod
    def open(cls, path: Path, store_ids: bool = False, *, create: bool = True) -> FeedbackStore:
        """Open the store, creating it (and its key) when create is set."""
        if not create and not path.is_file():
            raise FeedbackError(
                f"no feedback yet: {path} does not exist; the bot creates it when it answers "
                "its first question with [feedback] enabled"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackError(f"the feedback store {path} cannot be opened: {exc}") from None
        store = cls(conn, path, store_ids)
        try:
            store._prepare()
            if create:
                store._key = _load_key(key_path(path), create=True)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise FeedbackError(
                f"{path} is not a feedback store ({exc}); move it away or set [feedback] path"
            ) from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _prepare(self) -> None:
        db = self._db
        with self._lock:
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: an app crash loses nothing, a power cut at most the last votes.
            db.execute("PRAGMA synchronous=NORMAL")
            db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise FeedbackError(
                    f"{self.path} was written by another version of the bot (schema {row[0]})"
                )
            db.table("answers").create(
                {
                    "id": int,
                    "asked_at": str,
                    "question": str,
                    "found": int,
                    "reason": str,
                    "answerability": float,
                    "generation": str,
                    "chat_type": str,
                    "chat": str,
                    "user": str,
                    "citations": str,
                },
                pk="id",
                not_null=["asked_at", "question", "found"],
                if_not_exists=True,
            )
            db.table("votes").create(
                {
                    "answer_id": int,
                    "voter": str,
                    "vote": str,
                    "complaint": str,
                    "voted_at": str,
                },
                pk=("answer_id", "voter"),
                foreign_keys=[("answer_id", "answers", "id")],
                not_null=["vote", "voted_at"],
                if_not_exists=True,
            )
            db.execute("CREATE INDEX IF NOT EXISTS answers_asked_at ON answers (asked_at)")
            if row is None:
                db.table("meta").insert({"key": "schema", "value": SCHEMA_VERSION}, replace=True)

    @contextmanager
    def _locked(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            yield self._db

    # ------------------------------------------------------------ ids

    @property
    def key(self) -> bytes:
        """The secret the ids and the vote tokens are made with."""
        if self._key is None:
            self._key = _load_key(key_path(self.path), create=False)
        return self._key

    def _id(self, kind: str, value: int) -> str:
        if self.store_ids:
            return str(value)
        digest = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def vote_token(self, answer_id: int, chat_id: int) -> str:
        """The token a vote button carries: only this answer, in this chat."""
        mac = hmac.new(self.key, f"vote:{answer_id}:{chat_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii")[:TOKEN_CHARS]

    def token_matches(self, answer_id: int, chat_id: int, token: str) -> bool:
        """Whether a button's token is the one made for this answer in this chat."""
        return hmac.compare_digest(self.vote_token(answer_id, chat_id), token)

    # ------------------------------------------------------------ writing

    def record_answer(
        self, answer: Answer, generation: str, asker: Asker, now: dt.datetime | None = None
    ) -> int:
        """Store an answer as it is shown (not found: the question only); its id."""
        row = {
            "asked_at": _stamp(now),
            "question": answer.question,
            "found": int(answer.found),
            "reason": str(answer.reason) if answer.reason is not None else None,
            "answerability": round(answer.answerability, 4),
            "generation": generation,
            "chat_type": asker.chat_type,
            "chat": self._id("chat", asker.chat_id),
            "user": self._id("user", asker.user_id),
            "citations": json.dumps([_citation(c) for c in answer.citations], ensure_ascii=False),
        }
        with self._locked() as db:
            answer_id = db.table("answers").insert(row).last_pk
        if not isinstance(answer_id, int):
            raise FeedbackError(f"the feedback store {self.path} gave no id for an answer")
        return answer_id

    def record_vote(
        self,
        answer_id: int,
        user_id: int,
        vote: Vote,
        complaint: Complaint | None = None,
        now: dt.datetime | None = None,
    ) -> Recorded | None:
        """Store (or change) one person's vote on an answer; None when the answer is unknown.

        A complaint that does not fit the answer (wrong source on a "not found") is dropped:
        a "not found" voted down always means the sources do answer it.
        """
        voter = self._id("user", user_id)
        with self._locked() as db:
            row = db.execute("SELECT found FROM answers WHERE id = ?", [answer_id]).fetchone()
            if row is None:
                return None
            found = bool(row[0])
            if vote is Vote.UP:
                complaint = None
            elif not found:
                complaint = Complaint.IT_IS_THERE
            elif complaint is Complaint.IT_IS_THERE:
                complaint = None
            db.table("votes").upsert(
                {
                    "answer_id": answer_id,
                    "voter": voter,
                    "vote": str(vote),
                    "complaint": str(complaint) if complaint is not None else None,
                    "voted_at": _stamp(now),
                },
                pk=("answer_id", "voter"),
            )
        return Recorded(answer_id, found, vote, complaint)

    # ------------------------------------------------------------ reading

    def votes(self, answer_id: int | None = None) -> list[StoredVote]:
        """The current votes, on one answer or on all, oldest first."""
        where, params = ("WHERE answer_id = ?", [answer_id]) if answer_id is not None else ("", [])
        with self._locked() as db:
            rows = db.execute(
                "SELECT answer_id, voter, vote, complaint, voted_at FROM votes "
                f"{where} ORDER BY voted_at, rowid",
                params,
            ).fetchall()
        return [
            StoredVote(r[0], r[1], Vote(r[2]), Complaint(r[3]) if r[3] else None, r[4])
            for r in rows
        ]

    def answers(self) -> list[dict[str, Any]]:
        """Every stored answer as a row, oldest first."""
        with self._locked() as db:
            return list(db.table("answers").rows_where(order_by="id"))

    def stats(self, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> Stats:
        """Questions per day, the answered share and the votes over the last days (UTC)."""
        if days < 1:
            raise FeedbackError("stats: days must be 1 or more")
        today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
        first = today - dt.timedelta(days=days - 1)
        since = first.isoformat()
        with self._locked() as db:
            per_day = {
                r[0]: (r[1], r[2] or 0)
                for r in db.execute(
                    "SELECT substr(asked_at, 1, 10), count(*), sum(found) FROM answers "
                    "WHERE asked_at >= ? GROUP BY 1",
                    [since],
                ).fetchall()
            }
            votes = db.execute(
                "SELECT v.answer_id, v.vote, v.complaint FROM votes v "
                "JOIN answers a ON a.id = v.answer_id WHERE a.asked_at >= ?",
                [since],
            ).fetchall()
            missed = db.execute(
                "SELECT question FROM answers WHERE found = 0 AND asked_at >= ? ORDER BY id",
                [since],
            ).fetchall()
        return daily_stats(first, days, per_day, votes, [r[0] for r in missed])

    def export(self) -> GoldExport:
        """A gold set from the votes: the newest verdict on each question decides.

        👍 on an answer: its first citation's answering sentence and date; 👍 on a "not
        found", or 👎 "should have said not found": expect none. 👎 "not found, but it is
        there" and "wrong source": listed for a person to complete. Answers whose voters
        disagree, and complaints the gold format cannot hold (cut off), are left out.
        """
        with self._locked() as db:
            answers = {
                r[0]: (r[1], bool(r[2]), r[3])
                for r in db.execute(
                    "SELECT id, question, found, citations FROM answers "
                    "WHERE id IN (SELECT answer_id FROM votes) ORDER BY id"
                ).fetchall()
            }
            votes = db.execute("SELECT answer_id, vote, complaint FROM votes").fetchall()
        return gold_export(answers, votes)


def open_store(path: Path, store_ids: bool = False) -> FeedbackStore:
    """Open an existing store for reading (stats, export); FeedbackError when there is none."""
    return FeedbackStore.open(path, store_ids, create=False)


def _citation(c: Citation) -> dict[str, Any]:
    return {
        "n": c.n,
        "source": c.source,
        "title": c.title,
        "date": c.date.isoformat() if c.date else None,
        "page": c.page,
        "passage_id": c.passage_id,
        "passage": list(c.passage_span) if c.passage_span else None,
        "spans": [list(s) for s in c.excerpt_spans],
        "excerpt": c.excerpt,
        "answer_span": list(c.answer_span) if c.answer_span else None,
    }


def _load_key(path: Path, *, create: bool) -> bytes:
    """The store's secret key, made (readable by the owner only) the first time."""
    if create and not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made meanwhile by another process: read it below
        except OSError as exc:
            raise FeedbackError(f"the feedback key {path} cannot be made: {exc}") from None
        else:
            with closing(os.fdopen(fd, "w", encoding="ascii")) as fh:
                fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise FeedbackError(
            f"the feedback key {path} is missing; ids stored so far can no longer be matched"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackError(f"the feedback key {path} cannot be read: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise FeedbackError(
            f"{path} is not a feedback key; delete it to make a new one (buttons and hashes "
            "made with the old key then no longer match)"
        )
    return key
