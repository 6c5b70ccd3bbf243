"""The Server header each path announces (concord.tweens.server_header)."""

from __future__ import annotations

import pytest

from concord.prefixes import PrefixTable
from concord.tweens import SERVER_PRODUCT, server_header

PRODUCTS: PrefixTable[str] = PrefixTable()
PRODUCTS.add("/", "OCCI/1.2")  # registered before the longer prefix: the longer still wins
PRODUCTS.add("/cimi", "")


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/", f"{SERVER_PRODUCT} OCCI/1.2"),
        ("/compute/", f"{SERVER_PRODUCT} OCCI/1.2"),
        ("/cimix", f"{SERVER_PRODUCT} OCCI/1.2"),  # a prefix is a whole segment
        ("/cimi", SERVER_PRODUCT),
        ("/cimi/machines", SERVER_PRODUCT),
    ],
)
def test_the_longest_prefix_names_the_product(path: str, header: str) -> None:
    assert server_header(PRODUCTS, path) == header


def test_without_products_concord_only() -> None:
    assert server_header(PrefixTable(), "/anything") == SERVER_PRODUCT
    assert SERVER_PRODUCT.startswith("Concord/")
