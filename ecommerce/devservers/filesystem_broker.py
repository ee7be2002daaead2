"""Embedded mode's broker: kombu's filesystem transport, each message written whole before it
shows in the queue folder.

kombu creates a message's file under its final name and then writes it, so a consumer listing
the folder in between takes an empty file, fails to decode it, and its worker stops consuming
(seen with several senders at once). Here the message is written under a name no consumer
matches (`.part`) and renamed into place: a rename within one directory is atomic.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The name kombu gives it: consumers take files in name order and match `.<queue>.msg`.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
