"""The in-process control API: users, injected updates, sent records, faults, counters.

Every method is synchronous and thread-safe, so a sync test can drive an emulator whose
server runs on another thread's event loop (see ``EmulatorThread``). Injected updates are
queued for the bot (getUpdates or webhook) exactly as Telegram would queue them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import secrets
import threading
import time
from typing import Any

from .core import EmulatorCore
from .files import FileSource
from .media import make_animation, make_media, make_photo
from .records import BotRecord, Delay, Fault, GroupRecord, SentRecord, UserRecord, compact
from .textparse import detect_entities


def _clone(value: Any) -> Any:
    """Copy JSON data so callers can't mutate what is queued (faster than deepcopy)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):  # a deliberately odd raw update
        return copy.deepcopy(value)


class EmulatorControls(EmulatorCore):
    """Python control API; the HTTP control API (``/_emulator/...``) mirrors it."""

    # --- users and groups ----------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        *,
        is_premium: bool | None = None,
    ) -> dict[str, Any]:
        """Create (or update) a Telegram user; their private chat id is ``user_id``."""
        with self.lock:
            self.users[user_id] = UserRecord(
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
                is_premium=is_premium,
            )
            return self.users[user_id].as_user()

    def list_users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{**u.as_user(), "blocked": u.id in self.blocked} for u in self.users.values()]

    def add_group(
        self, chat_id: int, title: str, *, type: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Create a group chat (negative id; "-100…" ids are supergroups, as on Telegram)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        kind = type or ("supergroup" if str(chat_id).startswith("-100") else "group")
        with self.lock:
            self.groups[chat_id] = GroupRecord(chat_id, title, kind, username)
            return self.groups[chat_id].as_chat()

    def block_user(self, user_id: int, *, notify: bool = False, token: str | None = None) -> None:
        """Make every send to the user fail with 403; ``notify`` queues my_chat_member."""
        with self.lock:
            self.blocked.add(user_id)
        if notify:
            self._member_update(user_id, "member", "kicked", token)

    def unblock_user(self, user_id: int, *, notify: bool = False, token: str | None = None) -> None:
        with self.lock:
            self.blocked.discard(user_id)
        if notify:
            self._member_update(user_id, "kicked", "member", token)

    def _member_update(self, user_id: int, old: str, new: str, token: str | None) -> None:
        bot = self.bot_for(token)
        user = self.ensure_user(user_id)
        me = bot.as_user()

        def member(status: str) -> dict[str, Any]:
            return {
                "status": status,
                "user": me,
                **({"until_date": 0} if status == "kicked" else {}),
            }

        self.enqueue(
            bot,
            {
                "my_chat_member": {
                    "chat": user.as_chat(),
                    "from": user.as_user(),
                    "date": self.now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            },
        )

    # --- injected updates ----------------------------------------------------------------

    def _message(
        self,
        bot: BotRecord,
        user: UserRecord,
        chat: dict[str, Any],
        content: dict[str, Any],
        *,
        reply_to_message_id: int | None = None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        with self.lock:
            reply_to = None
            if reply_to_message_id is not None:
                found = self.find_message(bot, chat["id"], reply_to_message_id)
                if found is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']}")
                reply_to = {k: v for k, v in found.items() if k != "reply_to_message"}
            message = compact(
                {
                    "message_id": bot.next_message_id(chat["id"]),
                    "from": user.as_user(),
                    "chat": chat,
                    "date": self.now(),
                    "reply_to_message": reply_to,
                    **content,
                    **extra,
                }
            )
            self.store_message(bot, message)
        return message

    def _inject(
        self,
        user_id: int,
        content: dict[str, Any],
        *,
        token: str | None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        bot = self.bot_for(token)
        user = self.ensure_user(user_id)
        if chat_id is None:
            chat = user.as_chat()
        else:
            found = self.chat_json(chat_id)
            if found is None:
                raise ValueError(f"unknown chat {chat_id}; call add_group first")
            chat = found
        message = self._message(
            bot, user, chat, content, reply_to_message_id=reply_to_message_id, extra=extra or {}
        )
        return _clone(self.enqueue(bot, {"message": message}))

    def inject_message(
        self,
        user_id: int,
        text: str,
        entities: list[dict[str, Any]] | None = None,
        *,
        reply_to_message_id: int | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a user's text message; commands, URLs and mentions get entities like on
        Telegram unless ``entities`` is given. Returns the update."""
        content = {
            "text": text,
            "entities": detect_entities(text) if entities is None else entities,
        }
        content["entities"] = content["entities"] or None
        return self._inject(
            user_id, content, token=token, reply_to_message_id=reply_to_message_id, extra=extra
        )

    def inject_group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        entities: list[dict[str, Any]] | None = None,
        *,
        title: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a message a user wrote in a group (created on first use)."""
        with self.lock:
            if chat_id not in self.groups:
                self.add_group(chat_id, title or f"Group {chat_id}")
        content = {
            "text": text,
            "entities": (detect_entities(text) if entities is None else entities) or None,
        }
        return self._inject(user_id, content, token=token, chat_id=chat_id, extra=extra)

    def inject_photo(
        self,
        user_id: int,
        data: FileSource,
        caption: str | None = None,
        *,
        caption_entities: list[dict[str, Any]] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a photo: several PhotoSize entries, the largest carrying ``data``.

        ``data`` may be bytes, a path or a binary file object (copied in chunks).
        """
        spooled = self.files.spool(data)  # outside the lock: a large copy blocks nobody
        with self.lock:
            sizes = make_photo(self.files, spooled)
        content = self._captioned({"photo": sizes}, caption, caption_entities)
        return self._inject(user_id, content, token=token, extra=extra)

    def inject_album(
        self,
        user_id: int,
        items: list[FileSource],
        caption: str | None = None,
        *,
        kind: str = "photo",
        media_group_id: str | None = None,
        token: str | None = None,
    ) -> list[dict[str, Any]]:
        """Queue an album as Telegram sends one: a message per item (2 to 10), all with
        one ``media_group_id``, the caption on the first. ``kind``: photo, video or
        document. Returns the updates, in order."""
        if not 2 <= len(items) <= 10:
            raise ValueError("an album holds 2 to 10 items")
        if kind not in ("photo", "video", "document"):
            raise ValueError("an album holds photos, videos or documents")
        group = media_group_id or str(random.randrange(10**17, 10**18))  # noqa: S311
        inject = getattr(self, f"inject_{kind}")
        return [
            inject(
                user_id,
                data,
                caption=caption if index == 0 else None,
                token=token,
                media_group_id=group,
            )
            for index, data in enumerate(items)
        ]

    def inject_document(
        self,
        user_id: int,
        data: FileSource,
        filename: str = "document.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        size: int | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a document (bytes, a path or a binary file object); ``size`` fakes a
        larger file_size without allocating it."""
        return self._inject_media(
            user_id,
            "document",
            data,
            caption,
            token,
            extra,
            caption_entities=caption_entities,
            filename=filename,
            mime_type=mime_type,
            size=size,
        )

    def inject_video(
        self,
        user_id: int,
        data: FileSource,
        caption: str | None = None,
        *,
        width: int = 640,
        height: int = 360,
        duration: int = 1,
        filename: str | None = "video.mp4",
        mime_type: str = "video/mp4",
        caption_entities: list[dict[str, Any]] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self._inject_media(
            user_id,
            "video",
            data,
            caption,
            token,
            extra,
            caption_entities=caption_entities,
            width=width,
            height=height,
            duration=duration,
            filename=filename,
            mime_type=mime_type,
        )

    def inject_voice(
        self,
        user_id: int,
        data: bytes,
        duration: int = 1,
        *,
        mime_type: str = "audio/ogg",
        caption: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self._inject_media(
            user_id, "voice", data, caption, token, extra, duration=duration, mime_type=mime_type
        )

    def inject_audio(
        self,
        user_id: int,
        data: bytes,
        duration: int = 1,
        *,
        filename: str | None = "audio.mp3",
        mime_type: str = "audio/mpeg",
        caption: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self._inject_media(
            user_id,
            "audio",
            data,
            caption,
            token,
            extra,
            duration=duration,
            filename=filename,
            mime_type=mime_type,
        )

    def inject_sticker(
        self,
        user_id: int,
        data: bytes = b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        emoji: str = "👍",
        *,
        set_name: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self._inject_media(
            user_id,
            "sticker",
            data,
            None,
            token,
            extra,
            emoji=emoji,
            set_name=set_name,
            mime_type="image/webp",
        )

    def inject_animation(
        self,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        *,
        width: int = 320,
        height: int = 240,
        duration: int = 2,
        filename: str | None = "animation.gif.mp4",
        mime_type: str = "video/mp4",
        caption_entities: list[dict[str, Any]] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a GIF as Telegram sends one: ``animation`` and ``document`` of one file."""
        with self.lock:
            animation, document = make_animation(
                self.files,
                data,
                filename=filename,
                mime_type=mime_type,
                width=width,
                height=height,
                duration=duration,
            )
        content = self._captioned(
            {"animation": animation, "document": document}, caption, caption_entities
        )
        return self._inject(user_id, content, token=token, extra=extra)

    def _inject_media(
        self,
        user_id: int,
        kind: str,
        data: FileSource,
        caption: str | None,
        token: str | None,
        extra: dict[str, Any],
        *,
        caption_entities: list[dict[str, Any]] | None = None,
        **attrs: Any,
    ) -> dict[str, Any]:
        spooled = self.files.spool(data)  # outside the lock: a large copy blocks nobody
        with self.lock:
            value = make_media(self.files, kind, spooled, **attrs)
        if kind == "sticker":
            content = {kind: value}
        else:
            content = self._captioned({kind: value}, caption, caption_entities)
        return self._inject(user_id, content, token=token, extra=extra)

    @staticmethod
    def _captioned(
        content: dict[str, Any],
        caption: str | None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add the caption; its entities are detected as Telegram would unless given."""
        if caption:
            content["caption"] = caption
            content["caption_entities"] = (
                detect_entities(caption) if entities is None else entities
            ) or None
        return content

    def inject_location(
        self, user_id: int, latitude: float, longitude: float, *, token: str | None = None
    ) -> dict[str, Any]:
        location = {"latitude": latitude, "longitude": longitude}
        return self._inject(user_id, {"location": location}, token=token)

    def inject_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        *,
        contact_user_id: int | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        contact = compact(
            {
                "phone_number": phone_number,
                "first_name": first_name,
                "last_name": last_name,
                "user_id": contact_user_id,
            }
        )
        return self._inject(user_id, {"contact": contact}, token=token)

    def inject_poll(
        self,
        user_id: int,
        question: str,
        options: list[str],
        *,
        is_anonymous: bool = True,
        allows_multiple_answers: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        poll = {
            "id": str(random.randrange(10**17, 10**18)),  # noqa: S311
            "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": is_anonymous,
            "type": "regular",
            "allows_multiple_answers": allows_multiple_answers,
            "allows_revoting": True,
            "members_only": False,
        }
        return self._inject(user_id, {"poll": poll}, token=token)

    def inject_dice(
        self, user_id: int, emoji: str = "🎲", value: int | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        dice = {"emoji": emoji, "value": value or random.randint(1, 6)}  # noqa: S311
        return self._inject(user_id, {"dice": dice}, token=token)

    def inject_edit(
        self,
        user_id: int,
        message_id: int,
        new_text: str,
        *,
        chat_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Queue an edited_message update for a message the user sent earlier."""
        bot = self.bot_for(token)
        chat = user_id if chat_id is None else chat_id
        with self.lock:
            found = self.find_message(bot, chat, message_id)
            if found is None or (found.get("from") or {}).get("id") != user_id:
                raise ValueError(f"user {user_id} sent no message {message_id} in chat {chat}")
            key = "caption" if "caption" in found or "text" not in found else "text"
            ents = detect_entities(new_text) if entities is None else entities
            edited = compact(
                {
                    **found,
                    key: new_text,
                    f"{key}_entities" if key == "caption" else "entities": ents or None,
                    "edit_date": self.now(),
                }
            )
            self.store_message(bot, edited)
        return _clone(self.enqueue(bot, {"edited_message": edited}))

    def inject_callback_query(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Queue a press on an inline button of a message the bot sent."""
        bot = self.bot_for(token)
        user = self.ensure_user(user_id)
        chat = user_id if chat_id is None else chat_id
        with self.lock:
            message = self.find_message(bot, chat, message_id)
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat}")
            query_id = str(secrets.randbits(63))
            self.callback_queries[query_id] = {"chat_id": chat, "message_id": message_id}
        query = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": str(abs(hash((bot.id, chat)))),
            "data": data,
        }
        return _clone(self.enqueue(bot, {"callback_query": query}))

    def inject_update(self, update: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Queue a raw update verbatim (update_id assigned when missing), malformed or not."""
        return copy.deepcopy(self.enqueue(self.bot_for(token), copy.deepcopy(update)))

    def pending_updates(self, *, token: str | None = None) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed (getUpdates) or delivered (webhook)."""
        bot = self.bot_for(token)
        with self.lock:
            return _clone(list(bot.updates))

    # --- what the bot did ----------------------------------------------------------------

    def message(
        self, chat_id: int, message_id: int, *, token: str | None = None
    ) -> dict[str, Any] | None:
        """A message of the chat as it is now: after the bot's edits (text, reply_markup),
        None once deleted or if never sent. A record keeps the message as it was then."""
        bot = self.bot_for(token)
        found = self.find_message(bot, chat_id, message_id)
        return None if found is None else _clone(found)

    def sent(
        self, chat_id: int | None = None, method: str | None = None, *, token: str | None = None
    ) -> list[SentRecord]:
        """Records of the bot's successful chat actions, oldest first, optionally filtered."""
        name = method.lower() if method else None
        bot_id = self.bot_for(token).id if token else None
        with self.lock:
            return [
                r
                for r in self.records
                if (chat_id is None or r.chat_id == chat_id)
                and (name is None or r.method.lower() == name)
                and (bot_id is None or r.bot_id == bot_id)
            ]

    def wait_for_sent(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        method: str | None = None,
        token: str | None = None,
        timeout: float = 5.0,
    ) -> list[SentRecord]:
        """Block until ``count`` matching records exist; for threads other than the loop's."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("on the server loop, use 'await wait_for_sent_async(...)'")
        deadline = time.monotonic() + timeout
        with self.sent_changed:
            while True:
                found = self.sent(chat_id, method, token=token)
                remaining = deadline - time.monotonic()
                if len(found) >= count:
                    return found
                if remaining <= 0:
                    raise TimeoutError(f"{len(found)} of {count} expected records after {timeout}s")
                self.sent_changed.wait(remaining)

    async def wait_for_sent_async(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        method: str | None = None,
        token: str | None = None,
        timeout: float = 5.0,
    ) -> list[SentRecord]:
        """Await until ``count`` matching records exist (polls; safe on the server loop)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent(chat_id, method, token=token)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(found)} of {count} expected records after {timeout}s")
            await asyncio.sleep(0.01)

    def clear_sent(self) -> None:
        with self.lock:
            self.records.clear()

    def file_bytes(self, file_id: str) -> bytes:
        """Return the stored bytes of any file_id (uploaded by the bot or injected)."""
        with self.lock:
            stored = self.files.get(file_id)
            if stored is None:
                raise KeyError(file_id)
            return stored.read()

    def add_file(
        self,
        data: bytes = b"",
        *,
        kind: str = "document",
        filename: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> str:
        """Store a file and return its file_id (``size`` fakes a big file cheaply)."""
        with self.lock:
            if kind == "photo":
                return make_photo(self.files, data)[-1]["file_id"]
            media = make_media(
                self.files, kind, data, filename=filename, mime_type=mime_type, size=size
            )
            return media["file_id"]

    # --- faults and limits ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with an error.

        ``status=429`` carries ``retry_after`` (default 1); ``body`` replaces the JSON
        answer with raw text, like the HTML page Telegram's front end serves on a 502.
        """
        with self.lock:
            self.faults.append(Fault(method.lower(), status, times, retry_after, description, body))

    def delay(
        self, method: str, seconds: float, *, times: int | None = None, when: str = "before"
    ) -> None:
        """Hold calls of ``method`` ("*" = any) for ``seconds``, until cleared or ``times``.

        ``when="before"`` delays before the work is done; ``"after"`` does the work (the
        message is sent) and then holds the answer — a client timeout then loses the reply.
        """
        if when not in ("before", "after"):
            raise ValueError("when is 'before' or 'after'")
        with self.lock:
            self.delays[method.lower()] = Delay(method.lower(), seconds, times, when)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.delays.clear()

    def set_limits(self, enabled: bool | None = None, **settings: float) -> None:
        """Switch flood limits on/off and/or change LimitSettings fields (e.g. chat_burst)."""
        with self.lock:
            if enabled is not None:
                self.limits_enabled = enabled
            for key, value in settings.items():
                if not hasattr(self.limiter.settings, key):
                    raise ValueError(f"unknown limit setting {key!r}")
                setattr(self.limiter.settings, key, value)
            self.limiter.reset()

    # --- inspection and reset ------------------------------------------------------------

    def requests(self, method: str | None = None) -> int:
        """Count Bot API requests served, for one method or in total."""
        with self.lock:
            if method is None:
                return sum(self.request_counts.values())
            return sum(n for m, n in self.request_counts.items() if m.lower() == method.lower())

    @property
    def rate_limited(self) -> int:
        """How many 429 answers were served (flood limits and injected ones)."""
        with self.lock:
            return self.rate_limited_count

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.request_counts),
                "errors": {str(k): v for k, v in self.error_counts.items()},
                "rate_limited": self.rate_limited_count,
                "sent": len(self.records),
                "webhook_deliveries": self.webhook_deliveries,
                "pending_updates": {
                    b.token.split(":")[0]: len(b.updates) for b in self.bots.values()
                },
                "limits_enabled": self.limits_enabled,
            }

    def webhook_info(self, *, token: str | None = None) -> dict[str, Any]:
        from .methods import get_webhook_info
        from .wire import Params

        return get_webhook_info(self, self.bot_for(token), Params({}, {}))

    def reset(self) -> None:
        """Forget everything but the registered bots: users, chats, updates, webhooks,
        files, records, faults, counters and flood state."""
        from .webhook import stop_worker

        with self.lock:
            for bot in self.bots.values():
                if bot.webhook is not None:
                    self.call_on_loop(stop_worker, bot.webhook)
                bot.clear()
            self.users.clear()
            self.groups.clear()
            self.blocked.clear()
            self.files.clear()
            self.records.clear()
            self.faults.clear()
            self.delays.clear()
            self.callback_queries.clear()
            self.request_counts.clear()
            self.error_counts.clear()
            self.rate_limited_count = 0
            self.webhook_deliveries = 0
            self.limiter.reset()
