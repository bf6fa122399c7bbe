"""A real SMTP server for parc-mail's tests (aiosmtpd), keeping what it receives in files.

    python3 smtp_sink.py --port N --dir DIR [--cert PEM --key PEM [--implicit-tls]]
                         [--user NAME --password SECRET]

With --cert/--key the server offers STARTTLS and requires it before MAIL (or, with
--implicit-tls, speaks TLS from the first byte). With --user/--password it offers AUTH PLAIN
and LOGIN, and requires them before MAIL.

Each accepted message N is written as DIR/N.eml (the raw data) and DIR/N.json (envelope
sender, recipients, authenticated login, whether the session was encrypted), both written
before the 250 reply, so a client whose send succeeded finds them. The server runs until its
standard input closes (the test dropping it, or dying).
"""

import argparse
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.login.decode() if session.authenticated else None,
            # session.ssl is set by STARTTLS; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
        }
        self._write(f"{n}.eml", envelope.original_content)
        self._write(f"{n}.json", json.dumps(meta).encode())
        return "250 OK: queued"

    def _write(self, name, data):
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.directory, name))


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()

    smtp_kwargs = {}
    controller_kwargs = {}
    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
        if a.implicit_tls:
            controller_kwargs["ssl_context"] = tls
        else:
            smtp_kwargs.update(tls_context=tls, require_starttls=True)
    if a.user:
        smtp_kwargs.update(
            authenticator=authenticator(a.user, a.password),
            auth_required=True,
            # AUTH over plain text is refused unless allowed: allow it only without TLS.
            auth_require_tls=tls is not None,
        )

    controller = Controller(
        Sink(a.dir),
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="sink.test",
        **controller_kwargs,
        **smtp_kwargs,
    )
    controller.start()
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
