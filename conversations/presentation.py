"""How the conversation pane groups messages: the parts of one Telegram album together."""

from conversations.models import Chat

# (the message shown, its album's parts: [the message] when it is not an album)
Entry = tuple[Chat, list[Chat]]


def message_entries(chats: list[Chat]) -> list[Entry]:
    """Group consecutive chats of one album (same sender, same media_group_id).

    Telegram sends an album as separate messages that share a media_group_id; each is
    still its own row, but an agent reads them as one message with a grid of media.
    """
    entries: list[Entry] = []
    for chat in chats:
        if entries and _same_album(entries[-1][0], chat):
            entries[-1][1].append(chat)
        else:
            entries.append((chat, [chat]))
    return entries


def _same_album(first: Chat, chat: Chat) -> bool:
    return bool(chat.media_group_id) and (
        first.media_group_id == chat.media_group_id and first.sender_type == chat.sender_type
    )
