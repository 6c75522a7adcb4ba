"""Data made for development, kept apart from the areas that serve requests: the demo that `make run`
loads (`onboard seed-demo`: demo.py, with its payment accounts and storefronts) and the national-scale
data set for benchmarks (`onboard bench-data`: national.py). Each writes through the areas' own
services or tables; no area imports anything from here."""
