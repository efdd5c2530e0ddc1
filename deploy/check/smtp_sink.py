"""A local SMTP sink for the container check: accepts every message, keeps it.

Each message is written to FOLDER/<n>.eml and logged as one line with its
sender, recipients, X-Huikuan-Communication id, attachments and subject.
Enough SMTP for Django's backend (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT); no TLS, no authentication.

    python smtp_sink.py FOLDER [PORT]
"""

import asyncio
import email
import email.policy
import signal
import sys
from pathlib import Path

FOLDER = Path(sys.argv[1])
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 1025


def log(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def keep(sender: str, recipients: list[str], data: bytes) -> None:
    number = len(list(FOLDER.glob("*.eml"))) + 1
    (FOLDER / f"{number:05d}.eml").write_bytes(data)
    message = email.message_from_bytes(data, policy=email.policy.default)
    attachments = len(list(message.iter_attachments()))
    log(
        f"sink: message {number} from {sender} to {', '.join(recipients)}"
        f" [{message['X-Huikuan-Communication']}] {attachments} attachment(s): {message['Subject']}"
    )


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    async def reply(line: str) -> None:
        writer.write(line.encode() + b"\r\n")
        await writer.drain()

    sender, recipients = "", []
    await reply("220 huikuan-smtp-sink ready")
    while line := await reader.readline():
        verb = line.decode("utf-8", "replace").strip().split(" ", 1)[0].upper()
        argument = line.decode("utf-8", "replace").strip()[len(verb) :].strip()
        if verb in ("EHLO", "HELO"):
            await reply("250 huikuan-smtp-sink")
        elif verb == "MAIL":
            sender, recipients = argument.partition(":")[2].strip(" <>"), []
            await reply("250 OK")
        elif verb == "RCPT":
            recipients.append(argument.partition(":")[2].strip(" <>"))
            await reply("250 OK")
        elif verb == "DATA":
            await reply("354 End data with <CR><LF>.<CR><LF>")
            lines = []
            while (data_line := await reader.readline()) not in (b".\r\n", b".\n", b""):
                lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
            keep(sender, recipients, b"".join(lines))
            await reply("250 OK: kept")
        elif verb in ("RSET", "NOOP"):
            sender, recipients = ("", []) if verb == "RSET" else (sender, recipients)
            await reply("250 OK")
        elif verb == "QUIT":
            await reply("221 Bye")
            break
        else:
            await reply("502 Command not implemented")
    writer.close()


async def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(session, "0.0.0.0", PORT)
    log(f"sink: listening on port {PORT}, keeping messages in {FOLDER}")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


asyncio.run(main())
