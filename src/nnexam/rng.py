"""Stable per-student randomness: a key from SHA-256, then a counter-based integer hash.

Nothing here uses numpy's random module or any floating-point algorithm: a draw is
splitmix64 over (student key, group, index, attempt) in wrapping uint64 arithmetic, mapped to a
grid position with an integer remainder. The same inputs give the same draws on any machine,
any Python and any numpy version, and one student's draws never depend on another's.
"""

from __future__ import annotations

import hashlib

import numpy as np

# Bump only with a deliberate break: every variant of every exam changes with it.
KEY_VERSION = "nnexam-variant-v1"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VARIANT_LENGTH = 6

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1 = _U(0xBF58476D1CE4E5B9)
_M2 = _U(0x94D049BB133111EB)
_S30, _S27, _S31 = _U(30), _U(27), _U(31)


def student_key(seed: str, bank_hash: str, student_id: str) -> int:
    """The 64-bit key of one student: SHA-256 of a versioned (seed, bank hash, id) string."""
    text = "\x1f".join((KEY_VERSION, str(seed), bank_hash, student_id))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def student_keys(seed: str, bank_hash: str, ids: list[str]) -> np.ndarray:
    """student_key for every id, as a uint64 array."""
    return np.array([student_key(seed, bank_hash, i) for i in ids], dtype=np.uint64)


def variant_code(key: int) -> str:
    """A short printable code for a variant (6 Crockford base32 characters from the key's top bits)."""
    bits = int(key) >> (64 - 5 * VARIANT_LENGTH)
    chars = []
    for _ in range(VARIANT_LENGTH):
        chars.append(_CROCKFORD[bits & 31])
        bits >>= 5
    return "".join(reversed(chars))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on a uint64 array (a bijection; multiplication wraps mod 2^64)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def hash_draw(keys: np.ndarray, group: int, index: int, attempts: np.ndarray) -> np.ndarray:
    """One uint64 per student for draw (group, index) at that student's attempt."""
    if not (0 <= group < 256 and 0 <= index < 1 << 24):
        raise ValueError("group must fit 8 bits and index 24 bits")
    counter = (np.uint64(group) << _U(56)) | (np.uint64(index) << _U(32)) | np.asarray(attempts, dtype=np.uint64)
    return splitmix64(splitmix64(np.asarray(keys, dtype=np.uint64) ^ splitmix64(counter)))


def draw_index(keys: np.ndarray, group: int, index: int, attempts: np.ndarray, n: int) -> np.ndarray:
    """A position in range(n) per student (integer remainder; the bias, n / 2^64, is negligible)."""
    if n < 1:
        raise ValueError("n must be positive")
    return (hash_draw(keys, group, index, attempts) % np.uint64(n)).astype(np.int64)
