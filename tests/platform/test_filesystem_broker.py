"""Embedded mode's broker under several senders at once: every message arrives whole, once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from queue import Empty

from kombu import Connection

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT = "ecommerce.devservers.filesystem_broker:Transport"  # what settings/embedded.py uses
SENDERS = 3
EACH = 100

SEND = """
import sys
from kombu import Connection
folder, transport, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = {"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder}
with Connection("filesystem://", transport=transport, transport_options=options) as conn:
    queue = conn.SimpleQueue("stress")
    for number in range(count):
        queue.put({"sender": sys.argv[4], "number": number, "padding": "x" * 200_000})
"""


def test_messages_from_concurrent_senders_arrive_whole_and_once(tmp_path):
    # given: senders in their own processes, writing into the folder the consumer reads
    folder = str(tmp_path)
    senders = [
        subprocess.Popen(
            [sys.executable, "-c", SEND, folder, TRANSPORT, str(EACH), str(n)], cwd=ROOT
        )
        for n in range(SENDERS)
    ]
    options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": folder,
        "polling_interval": 0.001,
    }
    received: set[tuple[str, int]] = set()
    # when: one consumer takes them while they are being written
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as conn:
        queue = conn.SimpleQueue("stress")
        deadline = time.monotonic() + 120
        while len(received) < SENDERS * EACH and time.monotonic() < deadline:
            try:
                message = queue.get(timeout=1)
            except Empty:
                continue
            body = message.payload
            received.add((body["sender"], body["number"]))
            message.ack()
    # then
    assert [sender.wait(timeout=60) for sender in senders] == [0] * SENDERS
    assert len(received) == SENDERS * EACH
