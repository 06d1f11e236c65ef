"""The mail sandbox itself: it insists on STARTTLS and AUTH as a real relay does, and
its HTTP view shows what it received and takes the plan of misbehaviour."""

from __future__ import annotations

import smtplib
import ssl

import httpx
import pytest

from channels.email.sandbox import PASSWORD, USERNAME, MailSandbox


def test_no_mail_without_starttls_and_auth(relay: MailSandbox) -> None:
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=5) as plain:
        plain.ehlo()
        assert not plain.has_extn("auth")  # AUTH only offered after STARTTLS
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            plain.sendmail("a@example.cn", ["b@example.cn"], "Subject: x\r\n\r\nbody")
        assert refused.value.smtp_code == 530
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=5) as client:
        client.starttls(context=ssl.create_default_context(cafile=str(relay.cert_file)))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(USERNAME, "wrong")
        client.login(USERNAME, PASSWORD)
        client.sendmail("a@example.cn", ["b@example.cn"], "Subject: ok\r\nMessage-ID: <1@x>\r\n\r\nbody")
    assert [m["subject"] for m in relay.box.snapshot()] == ["ok"]


def test_the_view_lists_messages_and_takes_a_plan(relay: MailSandbox) -> None:
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=5) as client:
        client.starttls(context=ssl.create_default_context(cafile=str(relay.cert_file)))
        client.login(USERNAME, PASSWORD)
        client.sendmail("a@example.cn", ["b@example.cn"], "Subject: hello\r\nMessage-ID: <2@x>\r\n\r\nbody")
        plan = httpx.post(f"{relay.view_url}/control", json={"defer": 1, "refuse": 1}).json()
        assert plan["defer"] == 1 and plan["refuse"] == 1
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("a@example.cn", ["c@example.cn"], "Subject: no\r\n\r\nbody")
        assert refused.value.recipients["c@example.cn"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused) as deferred:
            client.sendmail("a@example.cn", ["c@example.cn"], "Subject: later\r\n\r\nbody")
        assert deferred.value.recipients["c@example.cn"][0] == 451
    listed = httpx.get(f"{relay.view_url}/messages").json()
    assert [(m["subject"], m["message_id"], m["tls"]) for m in listed] == [("hello", "<2@x>", True)]
    page = httpx.get(f"{relay.view_url}/")
    assert "邮件沙箱" in page.text and "&lt;2@x&gt;" in page.text
    assert httpx.post(f"{relay.view_url}/clear").status_code == 200
    assert httpx.get(f"{relay.view_url}/messages").json() == []
