"""Argon2 with test-sized costs: the same algorithm and code path as production, a fraction of the memory."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    algorithm = "argon2"  # the stored hashes are ordinary argon2 hashes
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
