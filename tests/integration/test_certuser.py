# Client certificates as user names: `use identity as username' (the
# CN) and `use subject as username' (the RFC 2253 subject), as
# Mosquitto's use_identity_as_username and use_subject_as_username: no
# password, the ACL file applied to that name, refusal without a verified
# certificate.  Certificates from tests/pki/mkpki (openssl).

import os
import subprocess

from harness import binary, broker, check, free_port, wait_for
from test_tls import mosq, mosq_pub, sub_start
from tlspki import f as pki

ACL = """\
user device-1
topic readwrite devices/device-1/#

user O=brokerd tests,CN=device-1
topic readwrite subjects/#
"""


def cert_broker(option, extra=""):
    port = free_port()
    b = broker(anonymous=False)
    acl = os.path.join(b.dir, "acl")
    fd = os.open(acl, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fp:
        fp.write(ACL)
    b.listen = ['listen on 127.0.0.1 port %d tls certificate "%s" key "%s" '
                'ca "%s" %s acl file "%s" %s' % (
                    port, pki("server-rsa.crt"), pki("server-rsa.key"),
                    pki("ca.crt"), option, acl, extra)]
    b.write_conf()
    b.tls_port = port
    return b.start()


def pub_sub_denied(b, allowed, denied, *args):
    """With the client certificate: a message to allowed + "t" reaches
    a subscriber of allowed + "#"; a PUBLISH to denied is refused."""
    p = sub_start(b, b.tls_port, allowed + "#", 1, cert="client")
    r = subprocess.run(mosq("mosquitto_pub", b.tls_port, "-t",
                            allowed + "t", "-m", "hello", "-q", "1",
                            *args, cert="client"),
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 0, "published: %s" % r.stderr)
    out, _ = p.communicate(timeout=30)
    check(out.strip() == "hello", "the subscriber got %r" % out)
    mosq_pub(b.tls_port, "no", cert="client", topic=denied)
    wait_for(lambda: b.stat("acl.publish_denied") == 1, 10,
             "%s refused" % denied)


def test_use_identity_as_username():
    b = cert_broker("use identity as username")
    # No password; a user name in the CONNECT counts for nothing.  The
    # ACL is device-1's: not another device's topic.
    pub_sub_denied(b, "devices/device-1/", "devices/device-2/t",
                   "-u", "admin", "-P", "whatever")
    b.wait_log("user device-1 by its certificate", count=3)
    check("user admin" not in b.logtext(), "the CONNECT's user name is "
          "not used")
    # Without a certificate: refused, 5 (3.1.1) / 0x87 (5).
    for v in ("mqttv311", "mqttv5"):
        r = subprocess.run(mosq("mosquitto_pub", b.tls_port, "-t", "x",
                                "-m", "m", "-V", v, "-u", "device-1",
                                "-P", "x"),
                           capture_output=True, text=True, timeout=20)
        check(r.returncode != 0, "%s without a certificate" % v)
        check("not authori" in (r.stderr + r.stdout).lower(),
              "refused as not authorised: %s" % r.stderr)
    wait_for(lambda: b.stat("auth.denied") == 2, 10, "2 refusals")


def test_use_subject_as_username():
    b = cert_broker("use subject as username")
    # The rules of the subject, not those of the CN.
    pub_sub_denied(b, "subjects/", "devices/device-1/t")
    b.wait_log("user O=brokerd tests,CN=device-1 by its certificate")


def test_identity_option_needs_certificates():
    b = broker()
    b.listen = ["listen on 127.0.0.1 port %d use identity as username"
                % b.port]
    b.write_conf()
    r = subprocess.run([binary("brokerd"), "-n", "-f", b.conf],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode != 0 and "needs ca" in r.stderr, "refused: %s"
          % r.stderr)
