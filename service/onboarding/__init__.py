"""The digital value chain: stages, stage events, visits and worklists."""
