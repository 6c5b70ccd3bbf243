"""Whether a signed HEPiX image list is the one a subscription trusts.

The S/MIME signature (:mod:`engine.federation.smime`) must be the subscribed
endorser's, under the subscribed CA, and the list (:mod:`engine.federation.hepix`)
must name that same signer as its endorser and not have expired.
"""

from __future__ import annotations

import datetime as dt

from engine.errors import InvalidInput
from engine.federation import hepix, smime
from engine.federation.models import ImageListSubscription


def endorsed_list(
    subscription: ImageListSubscription, message: bytes, now: dt.datetime
) -> hepix.ImageList:
    """The image list a signed ``message`` holds, once it is shown to be the
    subscription's: signed by its endorser under its CA, naming that signer as
    its endorser, and not expired.

    :raises InvalidInput: the signature, the signer or the list is not the
        subscribed endorser's, or the list has expired.
    """
    verified = smime.verify(message, subscription.ca_pem)
    signer = verified.signer
    if signer.dn != subscription.endorser_dn:
        raise InvalidInput(
            f"signed by {signer.dn}, not by {subscription.endorser_dn}",
            subject="image_list",
            reason="signer",
        )
    expected_ca = smime.ca_subject(subscription.ca_pem)
    if signer.ca != expected_ca:
        raise InvalidInput(
            f"the signer's CA is {signer.ca}, not {expected_ca}",
            subject="image_list",
            reason="signer",
        )
    image_list = hepix.parse(verified.content)
    if (image_list.endorser_dn, image_list.endorser_ca) != (signer.dn, signer.ca):
        raise InvalidInput(
            f"the list names endorser {image_list.endorser_dn} ({image_list.endorser_ca}), "
            f"not its signer {signer.dn} ({signer.ca})",
            subject="image_list",
            reason="signer",
        )
    if image_list.expires <= now:
        raise InvalidInput(
            f"the list expired at {image_list.expires.isoformat()}",
            subject="image_list",
            reason="expired",
        )
    return image_list
