#!/usr/bin/env python3
"""Follow one mail through this host's postfix, by its Message-ID.

Run by the injector in each mail host of the chain (python3 -c SCRIPT LOG
MESSAGE_ID SECONDS): it watches LOG (/var/log/mail.log) until the mail's
queue id (postfix/cleanup's `message-id=<...>` line) has a delivery line
(`to=<...>, ... status=...`), for at most SECONDS. It prints one JSON line:
the queue id, the status (`sent`, `deferred`, `bounced`, ...), the log line
and, for a relay, the next hop's queue id (`queued as ...`).
Exit 0: sent on (or delivered to the mailbox); 3: deferred or bounced
here; 4: not seen, or no delivery line, within SECONDS.
"""

import json
import re
import sys
import time

STATUS = re.compile(r"\bstatus=(\w+)")
NEXT_QUEUE_ID = re.compile(r"queued as (\w+)")


class Log:
    """The log's lines, read once and then as they are appended."""

    def __init__(self, path):
        self.path = path
        self.position = 0
        self.pending = ""

    def new_lines(self):
        try:
            with open(self.path, encoding="utf-8", errors="replace") as log:
                log.seek(self.position)
                text = self.pending + log.read()
                self.position = log.tell()
        except FileNotFoundError:
            return []
        lines = text.split("\n")
        self.pending = lines.pop()
        return lines


def main():
    path, message_id, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.monotonic() + seconds
    marker = f"message-id={message_id}"
    log = Log(path)
    queue_id = None
    while True:
        for line in log.new_lines():
            if queue_id is None:
                if marker in line:
                    match = re.search(r"\]: (\w+): message-id=", line)
                    queue_id = match.group(1) if match else None
                continue
            if f" {queue_id}: to=<" in line and STATUS.search(line):
                status = STATUS.search(line).group(1)
                next_queue = NEXT_QUEUE_ID.search(line)
                print(
                    json.dumps(
                        {
                            "queue_id": queue_id,
                            "status": status,
                            "line": line,
                            "next_queue_id": next_queue.group(1) if next_queue else None,
                        }
                    )
                )
                sys.exit(0 if status == "sent" else 3)
        if time.monotonic() > deadline:
            print(json.dumps({"queue_id": queue_id, "status": "queued" if queue_id else "absent"}))
            sys.exit(4)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
