"""The embedded default's Celery broker: kombu's filesystem transport with atomic writes.

kombu's own transport creates a message file and then writes into it, while a consumer in
another process may already have listed, moved and read it: an empty or half-written file,
which the consumer cannot decode, and the worker stops ("Unrecoverable error:
JSONDecodeError"). Here a message is written under a name no consumer picks up and renamed
into the queue folder once complete (a rename is atomic on one filesystem), so a consumer
sees a whole message or none. The exchange tables (one file per exchange) are created, read
and rewritten under the file lock, so two processes declaring a queue at once cannot read an
empty table either.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.filesystem import LOCK_EX, LOCK_SH, exchange_queue_t, lock, unlock
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


def _table(raw: bytes) -> list:
    return [exchange_queue_t(*q) for q in loads(bytes_to_str(raw))] if raw.strip() else []


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot and a trailing suffix: never matched by a consumer's `<queue>.msg`.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            with file.open("rb") as f:
                lock(f, LOCK_SH)
                try:
                    return _table(f.read())
                finally:
                    unlock(f)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        entry = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            # Created if missing, never truncated before the lock is held.
            with open(os.open(file, os.O_RDWR | os.O_CREAT, 0o644), "rb+", buffering=0) as f:
                lock(f, LOCK_EX)
                try:
                    queues = _table(f.read())
                    if entry not in queues:
                        queues.insert(0, entry)
                        f.seek(0)
                        f.truncate()
                        f.write(str_to_bytes(dumps(queues)))
                finally:
                    unlock(f)
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc


class Transport(filesystem.Transport):
    Channel = Channel
