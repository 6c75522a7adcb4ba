"""Storefront listings: public pages traders share, products, photos, trader edit links."""
