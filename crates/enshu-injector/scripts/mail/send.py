#!/usr/bin/env python3
"""Send one mail by SMTP (the SOC's alert, a phishing mail).

Run by the injector in the sending host (python3 -c SCRIPT --option=VALUE
...): every value is an argument. It builds the message (UTF-8; a Japanese
subject or sender name is encoded as RFC 2047 words), connects to the
first relay, retrying the connect for --connect-seconds while postfix is
not up yet, and hands the mail over. It prints one JSON line: the relay's
reply to DATA (with its queue id), how many connects it took and how long.
Exit 0: accepted; 2: no connection; 3: the relay refused the mail.
"""

import argparse
import email.policy
import email.utils
import json
import smtplib
import socket
import sys
import time
from email.message import EmailMessage


def arguments():
    parser = argparse.ArgumentParser(prog="enshu-mail-send")
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--envelope-from", required=True)
    parser.add_argument("--from-name", default="")
    parser.add_argument("--from-address", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--subject", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--message-id", required=True)
    parser.add_argument("--attachment-name", default="")
    parser.add_argument("--attachment-content", default="")
    parser.add_argument("--connect-seconds", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser.parse_args()


def build(options):
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr((options.from_name, options.from_address))
    message["To"] = options.to
    message["Subject"] = options.subject
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = options.message_id
    message.set_content(options.body, charset="utf-8")
    if options.attachment_name:
        message.add_attachment(
            options.attachment_content.encode("utf-8"),
            maintype="application",
            subtype="octet-stream",
            filename=options.attachment_name,
        )
    return message


def connect(options):
    """The SMTP session, retrying refused or unreachable connects."""
    deadline = time.monotonic() + options.connect_seconds
    attempts = 0
    while True:
        attempts += 1
        try:
            session = smtplib.SMTP(
                options.server,
                options.port,
                local_hostname=socket.gethostname(),
                timeout=options.timeout,
            )
            return session, attempts
        except (OSError, smtplib.SMTPException) as error:
            if time.monotonic() + 0.5 > deadline:
                print(
                    f"no SMTP connection to {options.server}:{options.port} "
                    f"after {attempts} attempts in {options.connect_seconds:g} s: {error}",
                    file=sys.stderr,
                )
                sys.exit(2)
            time.sleep(0.5)


def main():
    options = arguments()
    started = time.monotonic()
    message = build(options)
    session, attempts = connect(options)
    try:
        session.ehlo()
        code, reply = session.mail(options.envelope_from)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, options.envelope_from)
        code, reply = session.rcpt(options.to)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({options.to: (code, reply)})
        code, reply = session.data(message.as_bytes())
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        session.quit()
    except (OSError, smtplib.SMTPException) as error:
        print(f"{options.server}:{options.port} refused the mail: {error}", file=sys.stderr)
        sys.exit(3)
    text = reply.decode("utf-8", "replace")
    queue_id = text.rsplit("queued as ", 1)[1].strip() if "queued as " in text else ""
    print(
        json.dumps(
            {
                "reply": f"{code} {text}",
                "queue_id": queue_id,
                "connects": attempts,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
