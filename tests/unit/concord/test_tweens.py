"""The Server header each path announces (concord.tweens.server_header)."""

from __future__ import annotations

import pytest

from concord.tweens import SERVER_PRODUCT, server_header

PRODUCTS = [("/cimi", ""), ("/", "OCCI/1.2")]  # longest prefix first, as registered


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
    assert server_header([], "/anything") == SERVER_PRODUCT
    assert SERVER_PRODUCT.startswith("Concord/")
