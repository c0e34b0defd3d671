"""Certificate refusals in the active language: the web layer's side of certificates.py.

``tenderhall.accounts.certificates`` is pure and words its refusals in English. Each of its messages is
repeated here as a translatable template, grouped by ``Reason``; a refusal is matched against its reason's
templates, and the values it names (a date, an issuer, a key size) are carried over into the translation.
A message that matches no template (certificates.py worded it anew) is kept as it is, in English.
Catalogues: docs/translations.md.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

from tenderhall.accounts.certificates import CertificateRejected, Reason
from tenderhall.accounts.choices import CertificateUsage

MESSAGES: dict[Reason, tuple[str, ...]] = {
    Reason.MALFORMED: (
        gettext_noop("This is not a PEM file: expected '-----BEGIN CERTIFICATE-----' blocks."),
        gettext_noop("The PEM file is damaged (%(error)s); export the certificates again."),
        gettext_noop("The PEM file holds no certificate."),
        gettext_noop("The file is empty; upload your certificate."),
        gettext_noop(
            "The file is %(size)s bytes, too large to be a certificate; upload the certificate alone."
        ),
        gettext_noop("The PEM file holds %(count)s certificates; upload only your own certificate."),
        gettext_noop(
            "The file is not a readable X.509 certificate (%(error)s); export it again as PEM or DER."
        ),
        gettext_noop(
            "Certificate %(index)s of the PEM file is not a readable X.509 certificate (%(error)s); "
            "export it again as PEM or DER."
        ),
        gettext_noop(
            "Intermediate certificate %(index)s is not a readable X.509 certificate (%(error)s); "
            "export it again as PEM or DER."
        ),
    ),
    Reason.IS_CA: (
        gettext_noop(
            "This is a CA certificate (%(subject)s), not a certificate issued to a person or an "
            "organisation; upload the certificate your CA issued to you."
        ),
    ),
    Reason.WEAK_KEY: (
        gettext_noop(
            "The RSA key has %(bits)s bits; tenderhall needs at least %(min_bits)s. "
            "Make a new key and get a certificate for it."
        ),
    ),
    Reason.UNSUPPORTED_KEY: (
        gettext_noop("RSA keys of more than %(max_bits)s bits are not supported."),
        gettext_noop(
            "An encryption key must be RSA with at least %(min_bits)s bits (this one is %(key)s): "
            "sealed bids are encrypted with RSA key transport."
        ),
        gettext_noop("The key (%(key)s) is not supported; tenderhall accepts %(accepted)s."),
    ),
    Reason.WRONG_KEY_USAGE: (
        gettext_noop(
            "The certificate does not state its key usage; a %(usage)s certificate must allow %(wanted)s. "
            "Ask your CA for a %(usage)s certificate."
        ),
        gettext_noop(
            "This certificate is for %(key_usage)s, not for %(usage)s; "
            "upload your %(usage)s certificate (key usage %(wanted)s)."
        ),
    ),
    Reason.UNTRUSTED: (
        gettext_noop(
            "The certificate was issued by %(issuer)s, which leads to no CA tenderhall trusts. "
            "Upload a certificate from a recognised CA, together with its intermediate CA certificates."
        ),
        gettext_noop("The certificate is self-signed; upload a certificate issued by a recognised CA."),
    ),
    Reason.EXPIRED: (
        gettext_noop("The certificate expired on %(date)s; upload a current one."),
        gettext_noop("A CA certificate in its chain expired on %(date)s; ask your CA for its current chain."),
    ),
    Reason.NOT_YET_VALID: (
        gettext_noop("The certificate is not valid before %(date)s; upload it from that day on."),
        gettext_noop("A CA certificate in its chain is not valid before %(date)s."),
    ),
    Reason.REVOKED: (
        gettext_noop(
            "The certificate or a CA certificate in its chain was revoked on %(date)s; "
            "ask your CA for a new certificate."
        ),
    ),
    Reason.WEAK_SIGNATURE: (
        gettext_noop(
            "The certificate or a CA certificate in its chain is signed with a weak algorithm or key "
            "(for example SHA-1, or RSA under %(min_bits)s bits); ask your CA for a current certificate."
        ),
    ),
    Reason.INVALID_CHAIN: (
        gettext_noop(
            "The certificate's chain to a trusted CA does not hold (a signature does not verify, or a "
            "certificate on the path may not issue certificates); ask your CA for a correct certificate."
        ),
        gettext_noop("The certificate could not be validated: %(error)s"),
    ),
}
"""Every message certificates.py gives, by reason, in its words; ``%(name)s`` marks a value it fills in."""

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A regular expression that matches the messages ``template`` produces and captures their values."""
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for placeholder in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : placeholder.start()]))
        name = placeholder.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = placeholder.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


def certificate_rejection_message(error: CertificateRejected) -> str:
    """The refusal's message in the active language; in English, exactly ``error.message``."""
    for template in MESSAGES.get(error.reason, ()):
        if (match := _pattern(template).fullmatch(error.message)) is None:
            continue
        values = match.groupdict()
        if (usage := values.get("usage")) in CertificateUsage.values:
            values["usage"] = str(CertificateUsage(usage).label)
        if len(either := values.get("wanted", "").split(" or ")) == 2:  # "a or b"
            values["wanted"] = gettext("%(first)s or %(second)s") % {"first": either[0], "second": either[1]}
        translated = gettext(template)
        return error.message if translated == template else translated % values
    return error.message
