"""Users, roles, teams, login, guards and jurisdiction scoping."""
