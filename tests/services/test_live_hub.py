"""The live hub's per-stream queue: a client that falls behind is dropped, not buffered
without bound; and messages are filtered per viewer."""

import uuid

from app.services.live.hub import DROP, Subscriber
from app.services.live.messages import LiveMessage


def test_a_slow_subscriber_is_dropped_instead_of_buffering_without_bound():
    sub = Subscriber(uuid.uuid4(), None, moderator=False, size=3)
    for seq in range(1, 4):
        sub.offer(LiveMessage(seq, "question.created", {"id": str(seq)}))
    assert sub.queue.qsize() == 3 and not sub.dropped

    sub.offer(LiveMessage(4, "question.created", {"id": "4"}))
    assert sub.dropped
    assert sub.queue.qsize() == 1 and sub.queue.get_nowait() is DROP
    # Nothing more is queued for it.
    sub.offer(LiveMessage(5, "question.created", {"id": "5"}))
    assert sub.queue.empty()


def test_hidden_content_reaches_moderators_and_its_author_and_a_removal_everyone_else():
    author = uuid.uuid4()
    message = LiveMessage(
        7,
        "question.updated",
        {"id": "q", "status": "hidden"},
        public=False,
        author_id=author,
        others=("question.removed", {"id": "q"}),
    )
    moderator = message.sse_for(uuid.uuid4(), moderator=True)
    own = message.sse_for(author, moderator=False)
    other = message.sse_for(uuid.uuid4(), moderator=False)
    anonymous = message.sse_for(None, moderator=False)
    assert moderator is not None and moderator.event == "question.updated"
    assert own is not None and own.raw_data == '{"id":"q","status":"hidden"}' and own.id == "7"
    assert other is not None and other.event == "question.removed"
    assert other.raw_data == '{"id":"q"}'
    # One message object per view, shared by every subscriber that gets it.
    assert anonymous is other
    pending = LiveMessage(8, "question.created", {"id": "p"}, public=False, author_id=author)
    assert pending.sse_for(uuid.uuid4(), moderator=False) is None
